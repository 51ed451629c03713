package auth

import (
	"crypto/tls"
	"log/slog"
	"os"
	"sync"
	"time"
)

// ServerConfig loads the certificate and key and returns the TLS
// configuration of the listener (TLS 1.2 at least). When either file
// changes (a renewed certificate) the pair is loaded again, looked at no
// more often than every 10 seconds; if the new pair does not load, the old
// one is kept and the problem logged.
func (t TLS) ServerConfig(log *slog.Logger) (*tls.Config, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &certs{cfg: t, log: log}
	if err := c.load(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.get(), nil
		},
	}, nil
}

// reloadEvery is how often the files are looked at (a variable for tests).
var reloadEvery = 10 * time.Second

// certs holds the current certificate and reloads it when its files change.
type certs struct {
	cfg TLS
	log *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]time.Time // modification times of cert_file and key_file
	checked time.Time
}

func (c *certs) stamps() [2]time.Time {
	var s [2]time.Time
	for i, p := range []string{c.cfg.CertFile, c.cfg.KeyFile} {
		if fi, err := os.Stat(p); err == nil {
			s[i] = fi.ModTime()
		}
	}
	return s
}

func (c *certs) load() error {
	st := c.stamps()
	cert, err := tls.LoadX509KeyPair(c.cfg.CertFile, c.cfg.KeyFile)
	if err != nil {
		return err
	}
	c.cert, c.stamp, c.checked = &cert, st, time.Now()
	return nil
}

func (c *certs) get() *tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) < reloadEvery {
		return c.cert
	}
	c.checked = time.Now()
	if c.stamps() == c.stamp {
		return c.cert
	}
	old := c.cert
	if err := c.load(); err != nil {
		c.cert = old
		c.stamp = c.stamps() // do not retry until the files change again
		c.log.Warn("tls: the changed certificate or key does not load; keeping the previous one", "cert_file", c.cfg.CertFile, "key_file", c.cfg.KeyFile, "err", err)
		return c.cert
	}
	c.log.Info("tls: certificate reloaded", "cert_file", c.cfg.CertFile)
	return c.cert
}
