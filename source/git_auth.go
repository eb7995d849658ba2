package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	"golang.org/x/net/proxy"
)

// tokenUser is the basic-auth user name sent with TokenFile.
const tokenUser = "x-access-token"

// auth reads the credential files and builds the transport's auth method.
func (g *Git) auth() (transport.AuthMethod, error) {
	a := g.opts.Auth
	httpCreds := a.TokenFile != "" || a.UsernameFile != "" || a.PasswordFile != ""
	sshCreds := a.SSHKeyFile != "" || a.KnownHostsFile != ""
	switch g.endpoint.Protocol {
	case "file":
		if httpCreds || sshCreds {
			return nil, errors.New("credentials are not used with a local repository")
		}
		return nil, nil
	case "http", "https":
		if sshCreds {
			return nil, fmt.Errorf("an ssh key or known_hosts file is given for an %s URL", g.endpoint.Protocol)
		}
		if !httpCreds {
			return nil, nil
		}
		if g.endpoint.Protocol == "http" && !g.opts.InsecureHTTP && !isLoopback(g.endpoint.Host) {
			return nil, errors.New("refusing to send credentials over plain http: use https")
		}
		return httpAuth(a)
	case "ssh":
		if httpCreds {
			return nil, errors.New("a token, username or password file is given for an ssh URL: ssh uses a private key")
		}
		return g.sshAuth()
	default:
		return nil, fmt.Errorf("unsupported protocol %q: use https, ssh or file", g.endpoint.Protocol)
	}
}

func httpAuth(a GitAuth) (transport.AuthMethod, error) {
	if a.TokenFile != "" {
		if a.UsernameFile != "" || a.PasswordFile != "" {
			return nil, errors.New("give either a token file or a username and password file, not both")
		}
		token, err := readSecret(a.TokenFile, "token")
		if err != nil {
			return nil, err
		}
		return &githttp.BasicAuth{Username: tokenUser, Password: token}, nil
	}
	if a.UsernameFile == "" || a.PasswordFile == "" {
		return nil, errors.New("basic auth needs both a username file and a password file")
	}
	user, err := readSecret(a.UsernameFile, "username")
	if err != nil {
		return nil, err
	}
	pass, err := readSecret(a.PasswordFile, "password")
	if err != nil {
		return nil, err
	}
	return &githttp.BasicAuth{Username: user, Password: pass}, nil
}

// readSecret reads a credential file. The error names the file, never its
// content.
func readSecret(path, what string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s file: %w", what, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s file %s is empty", what, path)
	}
	return s, nil
}

func (g *Git) sshAuth() (transport.AuthMethod, error) {
	a := g.opts.Auth
	if a.KnownHostsFile == "" {
		return nil, errors.New("ssh needs a known_hosts file: refusing to connect to an unverified host")
	}
	if a.SSHKeyFile == "" {
		return nil, errors.New("ssh needs a private key file")
	}
	if _, err := os.Stat(a.KnownHostsFile); err != nil {
		return nil, fmt.Errorf("known_hosts file: %w", err)
	}
	db, err := knownhosts.NewDB(a.KnownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("known_hosts file %s: %w", a.KnownHostsFile, err)
	}
	pem, err := os.ReadFile(a.SSHKeyFile)
	if err != nil {
		return nil, fmt.Errorf("read ssh key file: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("ssh key file %s is encrypted: passphrases are not supported", a.SSHKeyFile)
		}
		return nil, fmt.Errorf("ssh key file %s: not a valid private key", a.SSHKeyFile)
	}
	user := g.endpoint.User
	if user == "" {
		user = "git"
	}
	port := g.endpoint.Port
	if port <= 0 {
		port = 22
	}
	hostPort := net.JoinHostPort(g.endpoint.Host, strconv.Itoa(port))
	check := db.HostKeyCallback()
	file := a.KnownHostsFile
	callback := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		switch {
		case err == nil:
			return nil
		case knownhosts.IsHostKeyChanged(err):
			return fmt.Errorf("host key mismatch for %s: the server's %s key is not the one in %s (possible man-in-the-middle attack, or the server's key changed)", hostname, key.Type(), file)
		case knownhosts.IsHostUnknown(err):
			return fmt.Errorf("unknown host %s: no %s key for it in %s", hostname, key.Type(), file)
		}
		return fmt.Errorf("host key check for %s: %w", hostname, err)
	}
	return &gitssh.PublicKeys{
		User:   user,
		Signer: signer,
		HostKeyCallbackHelper: gitssh.HostKeyCallbackHelper{
			HostKeyCallback:   callback,
			HostKeyAlgorithms: db.HostKeyAlgorithms(hostPort),
		},
	}, nil
}

// The ssh transport of go-git ignores the context until the session is up:
// a server that accepts the connection and never speaks would hold the
// fetch forever. Dialling through this "proxy" puts a deadline on the
// connection itself, so the whole session ends by the fetch timeout and
// the goroutine running it is released.
const deadlineScheme = "pave-deadline"

func init() {
	proxy.RegisterDialerType(deadlineScheme, func(u *url.URL, _ proxy.Dialer) (proxy.Dialer, error) {
		at, err := time.Parse(time.RFC3339Nano, u.Query().Get("until"))
		if err != nil {
			return nil, fmt.Errorf("deadline dialer: %w", err)
		}
		return deadlineDialer{deadline: at}, nil
	})
}

// deadlineProxy is the ProxyOptions that bound an ssh session by deadline.
func deadlineProxy(deadline time.Time) transport.ProxyOptions {
	q := url.Values{"until": {deadline.Format(time.RFC3339Nano)}}
	return transport.ProxyOptions{URL: deadlineScheme + "://deadline/?" + q.Encode()}
}

type deadlineDialer struct{ deadline time.Time }

func (d deadlineDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

func (d deadlineDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithDeadline(ctx, d.deadline)
	defer cancel()
	conn, err := proxy.Dial(ctx, network, addr) // honours ALL_PROXY
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(d.deadline); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
