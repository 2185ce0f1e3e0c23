package remote

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// wrapperScript runs one block on the host, in the SSH session's own
// process (sshd makes every session a session and process group of its
// own: that group is the block's, its id the wrapper's pid). It runs in
// the login shell itself, evaluated from the command line (see
// [wrapperLine]), uses only shell built-ins, then execs the program in its
// place, so that the session's exit status or signal is the program's own.
//
// Its input is the SSH channel: first, when the flags have e, the
// preamble (the environment, written by [preamble]: each entry as a line
// holding its number of lines, then those lines, ended by a line "0"),
// then, gated (flag g), one gate line ("go"), then the program's own
// input, which the program inherits; with flag n (no input) the program's
// input is /dev/null instead, so that the client sends no end of input.
//
// Before the program runs it reports on stderr, on lines starting with the
// byte 0x1e, which nothing else writes before them:
//
//	\036error MESSAGE   the program or the directory is not usable: nothing ran
//	\036ready PGID      registered in base/run/blocks (a line "PGID UPTIME",
//	                    the host's uptime from /proc where it has one:
//	                    the guard takes a live process with that pid that
//	                    started later for another's), about to run (gated:
//	                    parked)
//	\036go TIME         gated: the gate opened at TIME (the host's clock)
//
// The registration is one line appended to one file, which costs the same
// for the first block and the thousandth (a file per block cost a new
// directory entry each, slower as the directory grew), and the uptime is
// one short line: the shell's read takes a byte per system call, and the
// process's own start time (/proc/PID/stat) is some 300 bytes away.
//
// Its variables start with _st_ (Start refuses such Env names), so that
// the block's environment cannot change them.
//
// Arguments: base dir, flags (see [wrapperFlags]), dir, argv...
const wrapperScript = `_st_b=$1 _st_o=$2 _st_d=$3
shift 3
case $_st_o in *e*)
while IFS= read -r _st_n || exit 125; [ "$_st_n" != 0 ]; do
  IFS= read -r _st_v || exit 125
  while [ "$_st_n" -gt 1 ]; do
    IFS= read -r _st_l || exit 125
    _st_v="$_st_v
$_st_l" _st_n=$((_st_n-1))
  done
  export "$_st_v"
done ;;
esac
_st_e() { printf '\036error %s\n' "$1" >&2; exit 125; }
cd "$_st_b/work" || _st_e "the work directory $_st_b/work is gone"
if ! cd "$_st_d" 2>/dev/null; then
  case $_st_d in /*) ;; *) _st_d=$PWD/$_st_d ;; esac
  [ -e "$_st_d" ] || _st_e "directory $_st_d does not exist"
  [ -d "$_st_d" ] || _st_e "$_st_d is not a directory"
  _st_e "cannot enter directory $_st_d"
fi
case $1 in
*/*)
  [ -e "$1" ] || _st_e "program $1 does not exist (in $PWD)"
  [ -d "$1" ] && _st_e "program $1 is a directory"
  [ -x "$1" ] || _st_e "program $1 is not executable" ;;
*)
  _st_f= _st_i=$IFS
  set -f; IFS=:
  for _st_p in $PATH; do
    if [ -f "${_st_p:-.}/$1" ] && [ -x "${_st_p:-.}/$1" ]; then _st_f=1; break; fi
  done
  set +f; IFS=$_st_i
  [ -n "$_st_f" ] || _st_e "program $1 is not in PATH ($PATH)" ;;
esac
_st_v=
{ read -r _st_v _st_x </proc/uptime; } 2>/dev/null
printf '%s %s\n' $$ "$_st_v" >>"$_st_b/run/blocks" || _st_e "cannot register the block in $_st_b/run"
printf '\036ready %s\n' $$ >&2
case $_st_o in *g*)
  IFS= read -r _st_l && [ "$_st_l" = go ] || exit 125
  printf '\036go %s\n' "${EPOCHREALTIME:-$(date +%s%N)}" >&2 ;;
esac
case $_st_o in *n*) exec "$@" </dev/null ;; esac
exec "$@"`

// quotedWrapper is wrapperScript quoted for the command line, once.
var quotedWrapper = quote(wrapperScript)

// wrapperLine is the command line the SSH server runs for a block, with
// the user's login shell (a POSIX shell): it sets the wrapper's arguments,
// every one quoted, and evaluates the wrapper in that same shell, so that
// no second shell starts. Two shells hand it on instead: zsh, whose word
// splitting is not POSIX, to /bin/sh; and, for a gated block, any shell
// but bash to bash when the host has it, whose $EPOCHREALTIME reads the
// clock without starting a process (which keeps the gates of a group
// close together). The environment is not on it: see [preamble].
func wrapperLine(base, flags, dir string, args []string) string {
	if dir == "" {
		dir = "."
	}
	var b strings.Builder
	b.WriteString("_st_w=")
	b.WriteString(quotedWrapper)
	b.WriteString("; set --")
	for _, a := range append([]string{base, flags, dir}, args...) {
		b.WriteString(" ")
		b.WriteString(quote(a))
	}
	if strings.Contains(flags, "g") {
		b.WriteString(`; [ -n "${BASH_VERSION-}" ] || ! command -v bash >/dev/null 2>&1 || exec bash -c "$_st_w" streamtest-block "$@"`)
	}
	b.WriteString(`; [ -z "${ZSH_VERSION-}" ] || exec /bin/sh -c "$_st_w" streamtest-block "$@"; eval "$_st_w"`)
	return b.String()
}

// wrapperFlags is the wrapper's second argument: g for a gated block, e
// when a preamble follows (the block has an environment of its own), n
// when the block has no input (its program reads /dev/null). "-" for none.
func wrapperFlags(gated, env, input bool) string {
	f := ""
	if gated {
		f += "g"
	}
	if env {
		f += "e"
	}
	if !input {
		f += "n"
	}
	if f == "" {
		f = "-"
	}
	return f
}

// preamble is what the wrapper reads from its input before anything else
// when the block has an environment of its own (flag e):
// every entry of env as a line holding its number of lines, then those
// lines; then a line "0". It is empty, and not sent, when env is. Values
// stay off every command line; the framing keeps any character but NUL,
// newlines included, and costs the wrapper, which reads its input a byte
// at a time, a short line per entry.
func preamble(env []string) ([]byte, error) {
	if len(env) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	for _, kv := range env {
		// Errors name the entry, never its value.
		name, _, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("environment entry %q is not NAME=value", name)
		}
		if !validName(name) {
			return nil, fmt.Errorf("environment entry %q: the name is not a shell variable name", name)
		}
		if strings.HasPrefix(name, "_st_") {
			return nil, fmt.Errorf("environment entry %s: names starting with _st_ are the block wrapper's", name)
		}
		if strings.ContainsRune(kv, 0) {
			return nil, fmt.Errorf("environment entry %s holds a NUL byte", name)
		}
		b.WriteString(strconv.Itoa(strings.Count(kv, "\n") + 1))
		b.WriteString("\n")
		b.WriteString(kv)
		b.WriteString("\n")
	}
	b.WriteString("0\n")
	return b.Bytes(), nil
}

// quote quotes s for a POSIX shell.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
