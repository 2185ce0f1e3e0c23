# make test: install and start what the tests need, run every test with -race,
# and take down what was started, even when tests fail.
.PHONY: test unit vet fmt bench fuzz

test:
	bash scripts/test.sh

# Only the tests, with what is already installed and running.
unit:
	go test -race -count=1 ./...

vet:
	go vet ./...
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"

bench:
	go test -run '^$$' -bench . -benchtime 2s ./...

fuzz:
	go test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./params
