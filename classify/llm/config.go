// Package llm asks a large language model, through any OpenAI-compatible
// chat-completions endpoint (OpenAI, Azure OpenAI, vLLM, Ollama,
// llama.cpp server, ...), for a triage of an incident: a short summary for
// the on-call agent, the probable cause, next steps and a suggested team,
// category and priority; and for a knowledge-article draft once an
// incident is resolved.
//
// The model is given retrieval-augmented context (the incident, a capped
// sample of its alerts, similar past incidents with their resolutions, the
// matched runbooks and the current rule/kNN classification) as clearly
// delimited data. Alert text is untrusted: what comes back is validated in
// code (routing values against the taxonomy, priorities P1..P5, incident
// IDs other than this incident's and its neighbours' redacted) and is never
// executed or followed. Rules stay authoritative: the caller asks the model
// only when they are not confident (see ShouldAsk) and treats its routing
// as a suggestion.
//
// Calls are frugal: an LRU cache per incident signature, a concurrency
// limit, a per-request timeout, an hourly token budget, a circuit breaker
// and the server's Retry-After are all enforced by Client.
package llm

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/sift-aiops/sift/classify"
	"github.com/sift-aiops/sift/correlate"
)

// Response formats.
const (
	FormatJSONSchema = "json_schema" // response_format json_schema, strict, with enums (default)
	FormatJSONObject = "json_object" // response_format json_object, for servers without json_schema
)

// Defaults.
const (
	DefaultTimeout         = 30 * time.Second
	DefaultMaxConcurrency  = 2
	DefaultMaxTokens       = 2048
	DefaultCacheSize       = 256
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = time.Minute
	DefaultMinConfidence   = 0.6
	DefaultAzureAPIVersion = "2024-10-21"
)

// Config is the `llm:` section of the configuration file. It holds no
// secret: the API key is read from the environment variable APIKeyEnv
// names, so a Config can be logged or printed.
type Config struct {
	// BaseURL is the endpoint, e.g. https://api.openai.com/v1 or
	// http://vllm:8000/v1 (with Azure: https://NAME.openai.azure.com).
	BaseURL string `yaml:"base_url"`
	// Model is the model name (with Azure: the deployment name).
	Model string `yaml:"model"`
	// APIKeyEnv names the environment variable holding the API key. Empty:
	// no key is sent (local servers).
	APIKeyEnv string `yaml:"api_key_env"`
	// Timeout bounds each HTTP request (default 30s).
	Timeout correlate.Duration `yaml:"timeout"`
	// MaxConcurrency bounds the requests in flight (default 2).
	MaxConcurrency int `yaml:"max_concurrency"`
	// BudgetTokensPerHour bounds the tokens (prompt + completion, as the
	// server reports them) spent in any rolling hour; 0 means unlimited.
	BudgetTokensPerHour int `yaml:"budget_tokens_per_hour"`
	// ResponseFormat is json_schema (default; strict, with the taxonomy as
	// enums) or json_object (some servers only support that one).
	ResponseFormat string `yaml:"response_format"`
	// MaxTokens bounds each completion (default 2048).
	MaxTokens int `yaml:"max_tokens"`
	// Temperature (default 0: as deterministic as the server allows).
	Temperature float64 `yaml:"temperature"`
	// CacheSize is the number of triages kept per incident signature
	// (default 256; negative disables the cache).
	CacheSize int `yaml:"cache_size"`
	// BreakerFailures consecutive failures open the circuit (default 5;
	// negative disables the breaker).
	BreakerFailures int `yaml:"breaker_failures"`
	// BreakerCooldown is how long the circuit stays open before one
	// request is let through (default 1m).
	BreakerCooldown correlate.Duration `yaml:"breaker_cooldown"`
	// MinConfidence: below it the rules/kNN classification is not
	// confident and the model is asked (default 0.6). See ShouldAsk.
	MinConfidence float64 `yaml:"min_confidence"`
	// Azure: BaseURL is an Azure OpenAI endpoint and Model a deployment.
	Azure bool `yaml:"azure"`
	// AzureAPIVersion is the api-version query parameter (default
	// 2024-10-21, the first GA version with json_schema).
	AzureAPIVersion string `yaml:"azure_api_version"`
}

// Enabled reports whether an endpoint and a model are configured.
func (c Config) Enabled() bool {
	return strings.TrimSpace(c.BaseURL) != "" && strings.TrimSpace(c.Model) != ""
}

// WithDefaults returns c with unset fields at their defaults.
func (c Config) WithDefaults() Config {
	c.BaseURL = strings.TrimSpace(c.BaseURL)
	c.Model = strings.TrimSpace(c.Model)
	c.APIKeyEnv = strings.TrimSpace(c.APIKeyEnv)
	if c.Timeout == 0 {
		c.Timeout = correlate.Duration(DefaultTimeout)
	}
	if c.MaxConcurrency == 0 {
		c.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.ResponseFormat == "" {
		c.ResponseFormat = FormatJSONSchema
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = DefaultMaxTokens
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = DefaultBreakerFailures
	}
	if c.BreakerCooldown == 0 {
		c.BreakerCooldown = correlate.Duration(DefaultBreakerCooldown)
	}
	if c.MinConfidence == 0 {
		c.MinConfidence = DefaultMinConfidence
	}
	if c.Azure && c.AzureAPIVersion == "" {
		c.AzureAPIVersion = DefaultAzureAPIVersion
	}
	return c
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks c. Errors start with the key path of the problem, e.g.
// "llm.base_url: ...". An empty section (LLM disabled) is valid.
func (c Config) Validate() error {
	base, mdl := strings.TrimSpace(c.BaseURL), strings.TrimSpace(c.Model)
	switch {
	case base == "" && mdl != "":
		return fmt.Errorf("llm.base_url: required when llm.model is set")
	case base != "" && mdl == "":
		return fmt.Errorf("llm.model: required when llm.base_url is set")
	}
	if base != "" {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("llm.base_url: %q must be an http:// or https:// URL", redactURL(base))
		}
		if u.User != nil {
			return fmt.Errorf("llm.base_url: must not contain credentials (use llm.api_key_env)")
		}
	}
	if k := strings.TrimSpace(c.APIKeyEnv); k != "" && !envName.MatchString(k) {
		// Never echo the value: it may be the key itself, pasted by mistake.
		return fmt.Errorf("llm.api_key_env: must be the name of an environment variable holding the key (letters, digits, _), not the key itself")
	}
	if c.Timeout < 0 {
		return fmt.Errorf("llm.timeout: %s must not be negative", time.Duration(c.Timeout))
	}
	if c.MaxConcurrency < 0 {
		return fmt.Errorf("llm.max_concurrency: %d must not be negative", c.MaxConcurrency)
	}
	if c.BudgetTokensPerHour < 0 {
		return fmt.Errorf("llm.budget_tokens_per_hour: %d must not be negative (0 means unlimited)", c.BudgetTokensPerHour)
	}
	switch c.ResponseFormat {
	case "", FormatJSONSchema, FormatJSONObject:
	default:
		return fmt.Errorf("llm.response_format: %q must be json_schema or json_object", c.ResponseFormat)
	}
	if c.MaxTokens < 0 {
		return fmt.Errorf("llm.max_tokens: %d must not be negative", c.MaxTokens)
	}
	if c.Temperature < 0 || c.Temperature > 2 {
		return fmt.Errorf("llm.temperature: %v must be between 0 and 2", c.Temperature)
	}
	if c.BreakerCooldown < 0 {
		return fmt.Errorf("llm.breaker_cooldown: %s must not be negative", time.Duration(c.BreakerCooldown))
	}
	if c.MinConfidence < 0 || c.MinConfidence > 1 {
		return fmt.Errorf("llm.min_confidence: %v must be between 0 and 1", c.MinConfidence)
	}
	if c.AzureAPIVersion != "" && !c.Azure {
		return fmt.Errorf("llm.azure_api_version: only used with llm.azure: true")
	}
	return nil
}

// redactURL drops userinfo, query and fragment from a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// Taxonomy is what the model may answer for team and category (priorities
// are always P1..P5). Empty lists leave the value free (only cleaned).
type Taxonomy struct {
	Teams      []string `json:"teams,omitempty"`
	Categories []string `json:"categories,omitempty"`
}

// TaxonomyOf returns the taxonomy of a classify configuration.
func TaxonomyOf(c classify.Config) Taxonomy {
	return Taxonomy{Teams: c.Teams, Categories: c.Categories}
}

// Priorities are the priorities the model may answer, most urgent first.
var Priorities = []string{"P1", "P2", "P3", "P4", "P5"}

// ShouldAsk is the gating: ask the model when no rule matched and either
// the rules/kNN classification is not confident (confidence below
// minConfidence) or the incident's signature was not seen before.
func ShouldAsk(confidence float64, ruleMatched bool, newSignature bool, minConfidence float64) bool {
	return !ruleMatched && (confidence < minConfidence || newSignature)
}
