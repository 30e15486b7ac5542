package extensionapi

import (
	"encoding/json"
	"fmt"

	"github.com/lambda-o11y/otelcol-lambda/internal/extensionapi/wire"
)

// The variables a launcher (layer/launcher) hands a registration over in.
const (
	EnvHandoverID           = wire.EnvHandoverID
	EnvHandoverRegistration = wire.EnvHandoverRegistration
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
// os.LookupEnv or a test's), and the launcher's event relay if it names one.
// It reports false when there is none.
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
	if value, ok := lookup(EnvRelay); ok && value != "" {
		r, err := openRelay(value)
		if err != nil {
			return reg, false, err
		}
		c.relay = r
	}
	c.id = id
	return reg, true, nil
}
