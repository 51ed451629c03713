// Package knowledge is Sift's knowledge base: Markdown articles (runbooks,
// post-mortems, how-tos) under a directory, indexed with bleve for full-text
// search and for matching incidents to the articles that help resolve them.
//
// Articles are *.md files found recursively under Config.Dir. An article's
// id is its path relative to Dir without ".md", with "/" separators
// ("kubernetes/KubePodCrashLooping"); a section index "kubernetes/_index.md"
// keeps the id "kubernetes/_index". Files with no text after the front
// matter (such as Hugo section indexes that only carry menu settings) are
// not indexed: there is nothing in them to read.
//
// Optional YAML front matter between "---" lines may set title, tags,
// alerts and services. The title is the front matter title, else the first
// "# " heading, else the file name.
package knowledge

import (
	"fmt"
	"time"
)

// DefaultPollInterval is how often Watch looks for changed files.
const DefaultPollInterval = 5 * time.Second

// Config configures the knowledge base. The zero value is valid: no
// directory means an empty knowledge base, no index path means an
// in-memory index.
type Config struct {
	// Dir holds the Markdown articles (searched recursively).
	Dir string `yaml:"dir"`
	// IndexPath is where the bleve index lives on disk, e.g.
	// <data_dir>/knowledge.bleve; empty keeps it in memory.
	IndexPath string `yaml:"index_path"`
	// PollInterval is how often Watch checks Dir for changes (default 5s).
	PollInterval time.Duration `yaml:"poll_interval"`
}

// Validate reports a configuration error, if any.
func (c Config) Validate() error {
	if c.PollInterval < 0 {
		return fmt.Errorf("knowledge.poll_interval: %s is negative", c.PollInterval)
	}
	if c.PollInterval > 0 && c.PollInterval < 100*time.Millisecond {
		return fmt.Errorf("knowledge.poll_interval: %s is below 100ms", c.PollInterval)
	}
	if c.IndexPath != "" && c.Dir == "" {
		return fmt.Errorf("knowledge.index_path: %q set without knowledge.dir", c.IndexPath)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	return c
}
