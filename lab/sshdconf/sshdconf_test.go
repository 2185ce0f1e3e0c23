package sshdconf

import (
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	c := Config(Options{Comment: "lab host 1", ListenAddress: "10.199.1.11", HostKey: "/k", PidFile: "/p", User: "u", Password: true, Verbose: true})
	for _, want := range []string{"# lab host 1\n", "ListenAddress 10.199.1.11\n", "HostKey /k\n", "PidFile /p\n", "AllowUsers u\n",
		"PasswordAuthentication yes\n", "LogLevel VERBOSE\n", "ClientAliveInterval 2\n", "Subsystem sftp internal-sftp\n"} {
		if !strings.Contains(c, want) {
			t.Errorf("config lacks %q:\n%s", want, c)
		}
	}
	c = Config(Options{Comment: "docker", HostKey: "/k", PidFile: "/p", User: "u"})
	for _, unwanted := range []string{"ListenAddress", "PasswordAuthentication yes", "LogLevel"} {
		if strings.Contains(c, unwanted) {
			t.Errorf("config has %q:\n%s", unwanted, c)
		}
	}
}
