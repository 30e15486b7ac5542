// Package invocationsamplingprocessor keeps or drops everything of one
// Lambda invocation together (its spans, the function's spans in its trace,
// its log records), deciding when the lambdatelemetry receiver emits the
// invocation's server span, that is, once its outcome is known.
package invocationsamplingprocessor
