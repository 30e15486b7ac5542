// Package skywalking is the Apache SkyWalking kit: a compose file for the OAP
// and UI, the LAL and MAL rule files, and a collector config preset (see
// README.md). Its Go code is tests only: they load the preset with the
// distribution's components and check what it exports against what the OAP
// reads.
package skywalking
