// Package params reads the parameters files that say where a test's
// execution streams are, and the settings around them.
//
// The streams manager loads everything once and resolves each stream a test
// uses:
//
//	cfg, err := params.Load(params.Options{Files: flagFiles, Strict: strictFlag})
//	if err != nil {
//		return err // every problem, each at file:line:col
//	}
//	s, err := cfg.Resolve("1") // its definition, or the default type
//	env, err := factory(stream.Config{ID: s.ID, Type: s.Type, Params: s.Values, Dir: s.Dir})
//
// and a test reads its own parameters from cfg.Tree:
//
//	host, _ := cfg.Tree.Get("remote_hostname")
//	sub := cfg.Tree.Sub("db") // a subtree to hand to a block
//
// `streamtest validate` checks one file with [ParseFile].
//
// # Where parameters come from
//
// Lowest precedence first:
//
//  1. the system file, /etc/streamtest/config.yaml;
//  2. the user file, $XDG_CONFIG_HOME/streamtest/config.yaml
//     (else ~/.config/streamtest/config.yaml);
//  3. the files in STREAMTEST_PARAMS, separated by the OS's path list
//     separator (":" on Unix); when neither it nor the flags name a file,
//     the fallback files (an example's own parameters) instead;
//  4. the environment settings STREAMTEST_STRICT and
//     STREAMTEST_DEFAULT_TYPE;
//  5. the files given with -p/--params;
//  6. the flags --strict and --default-type.
//
// Every file has the same format, configuration files included. A later
// source replaces a whole stream definition with the same id, and overrides
// a setting; test parameters are merged key by key. [Config] records where
// each setting came from ([Setting.Source]) and every file read.
//
// # File format
//
// The RFC's YAML is accepted verbatim, with the root "avocado"; the
// project's own root is "streamtest", and streams may also sit at the top
// level:
//
//	avocado:                 # or streamtest:
//	  streams:
//	    - 1:
//	        type: remote
//	        host: foo.example.com
//	    - 2: {type: remote, host: bar.example.com}
//
//	streams:                 # at the top level
//	  - db: {type: container, image: lab-base}
//
//	streamtest:
//	  default_type: local    # the type of streams defined nowhere
//	  strict: true           # then using one is an error
//	  streams:               # a mapping works as well as a list
//	    1: {type: local}
//	    db: {type: container, image: x}
//	remote_hostname: foo     # any other top-level key is a test parameter
//
// A root section knows the keys streams, default_type and strict. A stream
// id is a whole number from 1 or a name of letters, digits, '_', '.' and
// '-'. A stream's keys are "type" and the parameters its type registered
// ([stream.Info.Params]); each value is checked against its [stream.Kind]
// and converted (see [Stream.Values]). A stream without a type gets the
// default type. Anchors, aliases and merge keys ("<<: *base") work as in
// YAML.
//
// Errors point at file:line:col and list what is known: the keys of a root
// section, the parameters of a type, the registered types, with the closest
// name suggested. A type that this module ships ([stream.BuiltIn]) but this
// program does not link is no error while parsing, since the program may
// never use that stream; [Config.Resolve] reports it.
//
// # Limits
//
//   - No error message ever contains the value of a parameter of kind
//     [stream.Secret]; the Values themselves do hold it, so print
//     [Stream.Redacted] instead. Test parameters (Tree) have no kinds: they
//     are not hidden.
//   - The YAML decoder reports the line of a syntax error only; its column
//     is the first character of that line that is not blank.
//   - One YAML document per file.
//   - Relative paths in parameters are not resolved here: Stream.Dir says
//     against what backends resolve them ([stream.Values.Path]).
//   - Tree paths are dot-separated, so a key containing a dot is reached
//     only by indexing the map.
package params
