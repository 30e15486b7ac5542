package lambdaemu

import (
	"errors"
	"fmt"
	"time"
)

// Config describes the emulated function and execution environment. Zero
// fields take Lambda's defaults (see withDefaults).
type Config struct {
	FunctionName    string // default "emulated-function"
	FunctionVersion string // default "$LATEST"
	MemoryMB        int    // default 128
	Region          string // default "us-east-1"
	AccountID       string // default "123456789012"
	Handler         string // returned by /extension/register; default "bootstrap"
	// InitializationType for AWS_LAMBDA_INITIALIZATION_TYPE and platform.initStart; default "on-demand".
	// InitManagedInstances selects Lambda Managed Instances' execution model
	// (managed.go): concurrent invocations, no INVOKE, no freeze.
	InitializationType string
	RuntimeVersion     string // default "provided:al2023.v100"
	// MemoryUsedMB is reported as maxMemoryUsedMB; default 64.
	MemoryUsedMB int

	// Extensions is how many external extensions Init waits for before the
	// runtime may start (Lambda knows the files in /opt/extensions; the emulator
	// has to be told). Each StartExtension before Init ends adds one.
	Extensions int
	// InitTimeout bounds the Init phase; default 10s.
	InitTimeout time.Duration
	// Timeout is the function timeout; default 3s. InvokeRequest.Timeout overrides it.
	Timeout time.Duration
	// ShutdownTimeout is the time between SHUTDOWN and deadlineMs; default 2s.
	ShutdownTimeout time.Duration

	Telemetry TelemetryConfig

	// OnFreeze runs after the environment froze (the runtime and every extension
	// wait in next); OnThaw runs before it thaws. Use them to SIGSTOP/SIGCONT
	// processes the emulator did not start (see ProcessFreezer).
	OnFreeze func()
	OnThaw   func()
}

// InitManagedInstances is the InitializationType of Lambda Managed Instances.
const InitManagedInstances = "lambda-managed-instances"

func (c Config) managed() bool { return c.InitializationType == InitManagedInstances }

func (c Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.FunctionName, "emulated-function")
	def(&c.FunctionVersion, "$LATEST")
	def(&c.Region, "us-east-1")
	def(&c.AccountID, "123456789012")
	def(&c.Handler, "bootstrap")
	def(&c.InitializationType, "on-demand")
	def(&c.RuntimeVersion, "provided:al2023.v100")
	if c.MemoryMB == 0 {
		c.MemoryMB = 128
	}
	if c.MemoryUsedMB == 0 {
		c.MemoryUsedMB = 64
	}
	if c.InitTimeout == 0 {
		c.InitTimeout = 10 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 3 * time.Second
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 2 * time.Second
	}
	c.Telemetry = c.Telemetry.withDefaults()
	return c
}

// Validate names the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.MemoryMB < 0:
		return fmt.Errorf("MemoryMB %d must not be negative", c.MemoryMB)
	case c.Extensions < 0 || c.Extensions > 10:
		return fmt.Errorf("Extensions %d must be 0..10 (Lambda allows at most 10)", c.Extensions)
	case c.InitTimeout < 0, c.Timeout < 0, c.ShutdownTimeout < 0:
		return errors.New("InitTimeout, Timeout and ShutdownTimeout must not be negative")
	case c.Telemetry.LogFormat != "" && c.Telemetry.LogFormat != LogFormatText && c.Telemetry.LogFormat != LogFormatJSON:
		return fmt.Errorf("Telemetry.LogFormat %q must be Text or JSON", c.Telemetry.LogFormat)
	}
	return nil
}

func (c Config) functionInfo() functionInfo {
	return functionInfo{
		name: c.FunctionName, version: c.FunctionVersion, region: c.Region, account: c.AccountID,
		memoryMB: c.MemoryMB, memoryUsedMB: c.MemoryUsedMB, initType: c.InitializationType,
		runtimeVersion: c.RuntimeVersion, logFormat: c.Telemetry.LogFormat,
	}
}
