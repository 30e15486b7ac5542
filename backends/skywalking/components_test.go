package skywalking

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/forwardconnector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry"

	"github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector"
	"github.com/lambda-o11y/otelcol-lambda/extension/bodylimitextension"
	"github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor"
	"github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor"
	"github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver"
)

// distribution is the component set the preset may use: the otelcol-lambda
// build. importPath says where builder-config.yaml must take each from.
type distribution struct {
	factories   otelcol.Factories
	importPaths map[component.Type]string
}

// newDistribution builds the factories; opts go to the lambdatelemetry
// receiver (in-process runs replace its environment and its exit).
func newDistribution(t *testing.T, opts ...lambdatelemetryreceiver.Option) distribution {
	t.Helper()
	d := distribution{importPaths: map[component.Type]string{}}
	add := func(typ component.Type, path string) { d.importPaths[typ] = path }

	receivers := []receiver.Factory{lambdatelemetryreceiver.NewFactory(opts...), otlpreceiver.NewFactory()}
	add(receivers[0].Type(), "github.com/lambda-o11y/otelcol-lambda/receiver/lambdatelemetryreceiver")
	add(receivers[1].Type(), "go.opentelemetry.io/collector/receiver/otlpreceiver")
	processors := []processor.Factory{decoupleprocessor.NewFactory(), jsonlogparseprocessor.NewFactory(), batchprocessor.NewFactory(), memorylimiterprocessor.NewFactory()}
	add(processors[0].Type(), "github.com/lambda-o11y/otelcol-lambda/processor/decoupleprocessor")
	add(processors[1].Type(), "github.com/lambda-o11y/otelcol-lambda/processor/jsonlogparseprocessor")
	add(processors[2].Type(), "go.opentelemetry.io/collector/processor/batchprocessor")
	add(processors[3].Type(), "go.opentelemetry.io/collector/processor/memorylimiterprocessor")
	connectors := []connector.Factory{logstometricsconnector.NewFactory(), forwardconnector.NewFactory()}
	add(connectors[0].Type(), "github.com/lambda-o11y/otelcol-lambda/connector/logstometricsconnector")
	add(connectors[1].Type(), "go.opentelemetry.io/collector/connector/forwardconnector")
	exporters := []exporter.Factory{otlpexporter.NewFactory(), otlphttpexporter.NewFactory(), debugexporter.NewFactory()}
	add(exporters[0].Type(), "go.opentelemetry.io/collector/exporter/otlpexporter")
	add(exporters[1].Type(), "go.opentelemetry.io/collector/exporter/otlphttpexporter")
	add(exporters[2].Type(), "go.opentelemetry.io/collector/exporter/debugexporter")
	extensions := []extension.Factory{bodylimitextension.NewFactory()}
	add(extensions[0].Type(), "github.com/lambda-o11y/otelcol-lambda/extension/bodylimitextension")

	var err error
	d.factories.Telemetry = telemetry.NewFactory(func() component.Config { return &telemetryConfig{} })
	d.factories.Receivers, err = otelcol.MakeFactoryMap(receivers...)
	require.NoError(t, err)
	d.factories.Processors, err = otelcol.MakeFactoryMap(processors...)
	require.NoError(t, err)
	d.factories.Connectors, err = otelcol.MakeFactoryMap(connectors...)
	require.NoError(t, err)
	d.factories.Exporters, err = otelcol.MakeFactoryMap(exporters...)
	require.NoError(t, err)
	d.factories.Extensions, err = otelcol.MakeFactoryMap(extensions...)
	require.NoError(t, err)
	return d
}

// telemetryConfig holds the service::telemetry keys the preset sets. The
// distribution's own telemetry factory (otelconftelemetry) would pull cloud
// resource detectors and a Kubernetes client into this module's dependencies;
// the binary check in TestPresetValidatesWithBinary runs the real one.
type telemetryConfig struct {
	Logs struct {
		Level string `mapstructure:"level"`
	} `mapstructure:"logs"`
	Metrics struct {
		Level string `mapstructure:"level"`
	} `mapstructure:"metrics"`
}

// newCollector loads the preset (then each override URI, later ones win) with
// the distribution's factories and the binary's env, file and yaml providers.
func newCollector(t *testing.T, d distribution, overrides ...string) *otelcol.Collector {
	t.Helper()
	col, err := otelcol.NewCollector(otelcol.CollectorSettings{
		Factories: func() (otelcol.Factories, error) { return d.factories, nil },
		BuildInfo: component.BuildInfo{Command: "otelcol-lambda", Description: "test", Version: "test"},
		// Tests stop the collector themselves; no signal handlers.
		DisableGracefulShutdown: true,
		// grpclog's logger is a process global: replacing it while the fake
		// OAP's gRPC server runs is a data race.
		SkipSettingGRPCLogger: true,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			URIs:              append([]string{"file:" + kitFile("collector-config.yaml")}, overrides...),
			ProviderFactories: []confmap.ProviderFactory{envprovider.NewFactory(), fileprovider.NewFactory(), yamlprovider.NewFactory()},
			DefaultScheme:     "env",
		}},
	})
	require.NoError(t, err)
	return col
}

// kitFile is the absolute path of a file of this kit.
func kitFile(name string) string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), name)
}

// repoFile is the absolute path of a file at the repository's root.
func repoFile(name string) string { return kitFile(filepath.Join("..", "..", name)) }
