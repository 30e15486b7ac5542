// Package lambdalifecycle is the one place where components of this distribution
// meet the Lambda freeze: a registry of drain hooks that the lambdatelemetry
// receiver runs, in stage order, before it lets the execution environment freeze
// (before every /event/next and during SHUTDOWN).
//
// The collector has no flush API: components only see ConsumeX and Shutdown. A
// component that holds data (a queue, an aggregation) registers a hook at Start
// and removes it at Shutdown; the receiver calls Drain. The barrier carries no
// policy: whoever calls Drain decides when.
//
// Outside Lambda nothing calls Drain and components behave as in any collector.
package lambdalifecycle
