package lambdaemu

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
)

// Schema versions of the Telemetry API that Lambda accepts.
var supportedSchemaVersions = []string{"2022-07-01", "2022-12-13", "2025-01-29"}

// Buffering is the buffering section of a subscription.
type Buffering struct {
	MaxItems  int `json:"maxItems"`
	MaxBytes  int `json:"maxBytes"`
	TimeoutMs int `json:"timeoutMs"`
}

// Destination is where a subscriber wants its batches.
type Destination struct {
	Protocol string `json:"protocol"`
	URI      string `json:"URI"`
}

// Subscription is the body of PUT /2022-07-01/telemetry.
type Subscription struct {
	SchemaVersion string       `json:"schemaVersion"`
	Types         []string     `json:"types"`
	Buffering     *Buffering   `json:"buffering,omitempty"`
	Destination   *Destination `json:"destination"`
}

// Lambda's documented defaults for an omitted buffering section.
var defaultBuffering = Buffering{MaxItems: 10000, MaxBytes: 262144, TimeoutMs: 1000}

// parseSubscription validates a subscription body as Lambda does; the error
// names the offending field and is returned to the caller with a 400.
func parseSubscription(body []byte, refused []string) (Subscription, error) {
	var s Subscription
	if err := json.Unmarshal(body, &s); err != nil {
		return s, fmt.Errorf("malformed subscription body: %w", err)
	}
	if !slices.Contains(supportedSchemaVersions, s.SchemaVersion) {
		return s, fmt.Errorf("schemaVersion %q is not one of %v", s.SchemaVersion, supportedSchemaVersions)
	}
	if slices.Contains(refused, s.SchemaVersion) {
		return s, fmt.Errorf("schemaVersion %q is not supported in this environment", s.SchemaVersion)
	}
	if len(s.Types) == 0 {
		return s, fmt.Errorf("types must name at least one of platform, function, extension")
	}
	for _, t := range s.Types {
		if t != "platform" && t != "function" && t != "extension" {
			return s, fmt.Errorf("types: unknown type %q", t)
		}
	}
	if s.Buffering == nil {
		b := defaultBuffering
		s.Buffering = &b
	}
	b := s.Buffering
	if b.MaxItems < 1000 || b.MaxItems > 10000 {
		return s, fmt.Errorf("buffering.maxItems %d is outside 1000..10000", b.MaxItems)
	}
	if b.MaxBytes < 262144 || b.MaxBytes > 1048576 {
		return s, fmt.Errorf("buffering.maxBytes %d is outside 262144..1048576", b.MaxBytes)
	}
	if b.TimeoutMs < 25 || b.TimeoutMs > 30000 {
		return s, fmt.Errorf("buffering.timeoutMs %d is outside 25..30000", b.TimeoutMs)
	}
	if s.Destination == nil {
		return s, fmt.Errorf("destination is required")
	}
	if s.Destination.Protocol != "HTTP" {
		return s, fmt.Errorf("destination.protocol %q must be HTTP", s.Destination.Protocol)
	}
	u, err := url.Parse(s.Destination.URI)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return s, fmt.Errorf("destination.URI %q must be an http:// URL", s.Destination.URI)
	}
	if u.Port() == "9001" {
		return s, fmt.Errorf("destination.URI %q uses the reserved port 9001", s.Destination.URI)
	}
	return s, nil
}
