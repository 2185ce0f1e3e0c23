// Package examples holds the examples of the multi-stream RFC as runnable Go
// tests, one package each, adapted to local streams where the RFC uses
// remote hosts. Each has its parameters file beside it, used when no other
// parameters are given (STREAMTEST_PARAMS or --params replace it):
//
//	go test ./examples/...
//	go run ./cmd/streamtest run ./examples/...
//
// The same tests against real hosts are in examples/remote (an SSH lab) and
// examples/container (the Docker Engine).
package examples
