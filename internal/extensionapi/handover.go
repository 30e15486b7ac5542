package extensionapi

import (
	"encoding/json"
	"fmt"
)

// A launcher (layer/launcher) registers the extension as soon as Lambda
// starts it, then runs the collector as its child and hands the registration
// over in these variables; the receiver then skips its own /register.
const (
	EnvHandoverID           = "OTELCOL_LAMBDA_EXTENSION_ID"
	EnvHandoverRegistration = "OTELCOL_LAMBDA_REGISTRATION"
)

// HandoverEnv is the environment that hands c's registration to a child.
func (c *Client) HandoverEnv(reg Registration) ([]string, error) {
	b, err := json.Marshal(reg)
	if err != nil {
		return nil, err
	}
	return []string{EnvHandoverID + "=" + c.id, EnvHandoverRegistration + "=" + string(b)}, nil
}

// TakeOver adopts a registration handed over in the environment (lookup is
// os.LookupEnv or a test's). It reports false when there is none.
func (c *Client) TakeOver(lookup func(string) (string, bool)) (Registration, bool, error) {
	var reg Registration
	id, ok := lookup(EnvHandoverID)
	if !ok || id == "" {
		return reg, false, nil
	}
	raw, _ := lookup(EnvHandoverRegistration)
	if err := json.Unmarshal([]byte(raw), &reg); err != nil {
		return reg, false, fmt.Errorf("%s: %w", EnvHandoverRegistration, err)
	}
	c.id = id
	return reg, true, nil
}
