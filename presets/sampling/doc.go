// Package sampling holds the collector config preset that turns
// invocation-aware sampling on (collector-config.yaml here) and its tests.
package sampling
