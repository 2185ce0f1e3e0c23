package streamtest

import (
	"io"
	"time"
)

// Option configures a manager: ParamsFile, InventoryFile, DefaultParams, Strict,
// DefaultType, KillGrace, IgnoreEnvironment. Options are taken on the first For call of a test.
type Option interface{ applyManager(*managerOptions) }

type managerOptions struct {
	files       []string
	inventories []string
	fallback    []string
	strict      *bool
	defaultType string
	grace       time.Duration
	isolated    bool
}

type managerOption func(*managerOptions)

func (f managerOption) applyManager(o *managerOptions) { f(o) }

// ParamsFile reads stream parameters from files, as the command line's
// --params does: they take precedence over STREAMTEST_PARAMS and the config
// files. Tests should rarely need it: where the streams are is best defined
// outside the test.
func ParamsFile(paths ...string) Option {
	return managerOption(func(o *managerOptions) { o.files = append(o.files, paths...) })
}

// InventoryFile reads streams from Ansible inventories (INI or YAML), as
// the command line's --inventory does: every host is a remote stream named
// by its inventory name, every group a group of Manager.Group. They are
// read right after the files of ParamsFile. Tests should rarely need it:
// STREAMTEST_INVENTORY and the command's flag say it from outside.
func InventoryFile(paths ...string) Option {
	return managerOption(func(o *managerOptions) { o.inventories = append(o.inventories, paths...) })
}

// DefaultParams names parameter files to use only when neither
// STREAMTEST_PARAMS nor ParamsFile gives any: a test package's own default
// streams, which a run against a lab replaces.
func DefaultParams(paths ...string) Option {
	return managerOption(func(o *managerOptions) { o.fallback = append(o.fallback, paths...) })
}

// Strict makes using a stream the parameters do not define an error instead
// of giving it the default type.
func Strict() Option {
	return managerOption(func(o *managerOptions) { t := true; o.strict = &t })
}

// DefaultType sets the type of streams the parameters do not define
// ("local" unless configured).
func DefaultType(name string) Option {
	return managerOption(func(o *managerOptions) { o.defaultType = name })
}

// IgnoreEnvironment makes the streams those the options alone define:
// STREAMTEST_PARAMS, STREAMTEST_INVENTORY, STREAMTEST_STRICT,
// STREAMTEST_DEFAULT_TYPE and the user's and the system's config files are
// not read (DefaultParams then always applies). It is for code whose output depends on where its
// streams are, such as Example functions, which must not run elsewhere
// because a lab run set the environment. Tests should not need it.
func IgnoreEnvironment() Option {
	return managerOption(func(o *managerOptions) { o.isolated = true })
}

// KillGrace sets how long a stopped block gets between SIGTERM and SIGKILL
// (1s by default).
func KillGrace(d time.Duration) Option {
	return managerOption(func(o *managerOptions) { o.grace = d })
}

// RunOption configures one Run: Wait, Synchronized, SyncTimeout, Timeout,
// Stdin, Env, Tee.
type RunOption interface{ applyRun(*runOptions) }

type runOptions struct {
	wait        bool
	sync        bool
	syncTimeout time.Duration
	timeout     time.Duration
	stdin       func() io.Reader
	env         []string
	tee         func(id string) (stdout, stderr io.Writer)
}

type runOption func(*runOptions)

func (f runOption) applyRun(o *runOptions) { f(o) }

// Wait makes Run synchronous: it returns when the block has ended.
func Wait() RunOption { return runOption(func(o *runOptions) { o.wait = true }) }

// Synchronized makes every member of a group start the block at one instant:
// each member first gets fully ready (set up, payload sent, process started
// and parked at a gate); when all are ready the gate opens for all at once.
// If one cannot get ready within the sync timeout (SyncTimeout, 1 minute by
// default), every member is aborted with an error naming who was not ready.
// It combines with Wait.
func Synchronized() RunOption { return runOption(func(o *runOptions) { o.sync = true }) }

// SyncTimeout bounds how long a synchronized group waits for all its members
// to get ready. It implies Synchronized.
func SyncTimeout(d time.Duration) RunOption {
	return runOption(func(o *runOptions) { o.sync, o.syncTimeout = true, d })
}

// Timeout stops the block if it has not ended after d (set-up included). A
// block stopped so has not succeeded; its output has "timed_out": true.
func Timeout(d time.Duration) RunOption { return runOption(func(o *runOptions) { o.timeout = d }) }

// Stdin gives the block's process its standard input. newReader is called
// once per stream, so a group's members each get their own reader.
func Stdin(newReader func() io.Reader) RunOption {
	return runOption(func(o *runOptions) { o.stdin = newReader })
}

// Env adds "KEY=value" entries to the block's environment.
func Env(kv ...string) RunOption {
	return runOption(func(o *runOptions) { o.env = append(o.env, kv...) })
}

// Tee copies the block's standard output and error, as they arrive, to
// the writers that writers returns for the stream (called once per stream
// with its id; a nil writer copies nothing), besides keeping them in
// Output. It is how a program shows a group's output live. The writers
// must not block; what they return is ignored.
func Tee(writers func(id string) (stdout, stderr io.Writer)) RunOption {
	return runOption(func(o *runOptions) { o.tee = writers })
}

func collectRun(opts []RunOption) runOptions {
	o := runOptions{syncTimeout: time.Minute}
	for _, opt := range opts {
		opt.applyRun(&o)
	}
	return o
}
