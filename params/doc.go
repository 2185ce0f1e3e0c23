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
//     separator (":" on Unix), then the Ansible inventories in
//     STREAMTEST_INVENTORY (separated the same way); when none of these
//     nor the flags name a file, the fallback files (an example's own
//     parameters) instead;
//  4. the environment settings STREAMTEST_STRICT and
//     STREAMTEST_DEFAULT_TYPE;
//  5. the files given with -p/--params, then the inventories given with
//     --inventory;
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
// A stream may say which named groups it is in with the reserved key
// "groups", a name or a list of names (letters, digits, '_', '.', '-'; not
// "all" or "ungrouped"); like "type", it is checked here and not passed to
// the type. [Config.Groups] holds every group with its members in
// definition order, the streams whose final definition names it.
//
// Errors point at file:line:col and list what is known: the keys of a root
// section, the parameters of a type, the registered types, with the closest
// name suggested. A type that this module ships ([stream.BuiltIn]) but this
// program does not link is no error while parsing, since the program may
// never use that stream; [Config.Resolve] reports it.
//
// # Ansible inventories
//
// [ParseInventory] reads an Ansible inventory
// (https://docs.ansible.com/ansible/latest/inventory_guide/intro_inventory.html),
// INI or YAML as Ansible decides by the name (".yaml", ".yml", ".json":
// YAML; anything else: INI). Every host becomes a stream of type remote
// whose id is its inventory name; every group, but "all" and "ungrouped",
// a named group, a host of a child group being in its parents too. Host
// ranges ("web[01:03]", "db-[a:c]", "n[1:9:2]") expand as Ansible expands
// them, and "name:port" gives the port.
//
// A host's variables are merged as Ansible merges them: all's, then the
// other groups' by depth (a child over its parent), ansible_group_priority
// and name, then the host's own, the later winning. They become the
// stream's parameters: ansible_host (else the inventory name) is host,
// ansible_user user, ansible_port port, ansible_ssh_private_key_file key,
// ansible_password or ansible_ssh_pass password (a Secret), ansible_timeout
// connect_timeout; the older ansible_ssh_host, ansible_ssh_user,
// ansible_ssh_port and ansible_private_key_file as well, the newer name
// winning. The -o options UserKnownHostsFile and StrictHostKeyChecking=no of
// ansible_ssh_common_args and ansible_ssh_extra_args become known_hosts and
// insecure_ignore_host_key (an inventory has no variable of its own for
// them); the options that only tune OpenSSH are ignored, any other is an
// error. ansible_connection must be ssh, smart or paramiko. The Ansible
// variables that mean nothing for a stream (privilege escalation, the
// interpreter and shell Ansible uses, how it builds its ssh command line)
// are ignored. Any other ansible_* variable is an error, so that a typo is
// found; any other variable must be a parameter of the remote type, and is
// checked as one, so an unknown one is an error at its position with the
// type's parameters listed. A problem of a group's variable is reported
// once, at the variable. Values on a host line and under [group:vars] are
// read the same way: a whole number or true/false not quoted is one,
// anything else a string. group_vars/host_vars directories, dynamic
// inventories and Jinja templating are not read.
//
// The INI format is read by a reader of this package, not a library: it is
// Ansible's own format (host lines of shell-quoted key=value words, section
// kinds :vars and :children), which generic INI libraries do not read, and
// the one Go library that reads Ansible inventories,
// github.com/relex/aini (v1.6.0), keeps no position (an error could not say
// file:line:column), keeps every value as a string, quotes whole lines in
// its errors (a password on a host line included), and pulls a second YAML
// library (gopkg.in/yaml.v3) besides go.yaml.in/yaml/v3, with
// github.com/samber/lo, golang.org/x/exp and github.com/google/shlex. The YAML format is read
// with go.yaml.in/yaml/v3, whose nodes carry the positions, through the
// same checks as a parameters file. FuzzParseInventory fuzzes the INI
// reader.
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
