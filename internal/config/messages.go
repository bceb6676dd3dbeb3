package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/otelkinesis/otelkinesis/internal/kpl"
)

// source is where Load found a setting: a variable (its full name and its value as
// written) or an option.
type source struct {
	variable, raw string
	option        *Option
}

// refusal returns the error refusing the setting named name, in one line: [Prefix], where
// the value came from with the value as written, what is wrong (problem), what is allowed
// and the other way to set the setting:
//
//	otelkinesis: traces exporter: OTEL_EXPORTER_KINESIS_FLUSH_INTERVAL=0: out of range; allowed 1ms to 1h (option WithFlushInterval)
//	otelkinesis: traces exporter: WithFlushInterval(0s): out of range; allowed 1ms to 1h (variable OTEL_EXPORTER_KINESIS_FLUSH_INTERVAL)
func (c *Config) refusal(name, problem, allowed string) error {
	return c.refuse(name, nil, problem, allowed)
}

// refusalOf is refusal for a setting the producer's Validate refused.
func (c *Config) refusalOf(p *kpl.SettingError) error {
	return c.refuse(p.Setting, p.Value, p.Problem, p.Allowed)
}

func (c *Config) refuse(name string, value any, problem, allowed string) error {
	msg := problem
	if allowed != "" {
		msg += "; allowed " + allowed
	}
	if other := c.otherWay(name); other != "" {
		msg += " (" + other + ")"
	}
	return fmt.Errorf("%s: %s: %s", Prefix(c.Signal), c.origin(name, value), msg)
}

// origin says where the value of the setting named name came from, with the value as
// written: "OTEL_EXPORTER_KINESIS_BATCH_COUNT=1000" (a value that is not a plain word
// quoted as a shell would, 'bad name!'), "WithBatchCount(1000)". A setting at its
// default is named with value, as the producer saw it. The external ID is never shown.
func (c *Config) origin(name string, value any) string {
	s := c.sources[name]
	switch {
	case s.variable != "" && name == "external_id":
		return s.variable + " (value not shown)"
	case s.variable != "":
		return s.variable + "=" + shellQuote(s.raw)
	case s.option != nil:
		return s.option.Name + "(" + formatArgs(s.option.Args) + ")"
	case value != nil:
		return name + " " + formatArg(value)
	}
	return name
}

// otherWay names the way to set the setting named name other than the one its value
// came from: its option for a value from a variable, its variable for a value from an
// option, both for a default.
func (c *Config) otherWay(name string) string {
	st, ok := byName[name]
	if !ok {
		return ""
	}
	s := c.sources[name]
	switch {
	case s.variable != "":
		return "option " + st.option
	case s.option != nil:
		if st.env == "" {
			return ""
		}
		return "variable " + EnvPrefix + st.env
	}
	return c.waysToSet(name)
}

// waysToSet names the option and the variable of the setting named name: "option
// WithBatchCount, variable OTEL_EXPORTER_KINESIS_BATCH_COUNT".
func (c *Config) waysToSet(name string) string {
	st, ok := byName[name]
	if !ok {
		return ""
	}
	if st.env == "" {
		return "option " + st.option
	}
	return "option " + st.option + ", variable " + EnvPrefix + st.env
}

// formatArgs writes an option's arguments as errors show them.
func formatArgs(args []any) string {
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = formatArg(a)
	}
	return strings.Join(s, ", ")
}

// formatArg writes a value as Go code would give it, near enough: strings quoted,
// durations as Go writes them ("5m", "1h", "250ms"), a [Secret] not at all.
func formatArg(a any) string {
	switch v := a.(type) {
	case Secret:
		if v == "" {
			return `""`
		}
		return "<not shown>"
	case string:
		return strconv.Quote(v)
	case time.Duration:
		return kpl.FormatDuration(v)
	}
	return fmt.Sprint(a)
}

// shellQuote writes a variable's value as a shell command line would need it: as it is
// when it is a plain word (letters, digits and _ @ % + = : , . / -), in single quotes
// when it has other printable characters, Go-quoted when it has a quote or an
// unprintable character.
func shellQuote(v string) string {
	plain := v != ""
	printable := true
	for _, r := range v {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("_@%+=:,./-", r)) {
			plain = false
		}
		if !unicode.IsPrint(r) || r == '\'' {
			printable = false
		}
	}
	switch {
	case plain:
		return v
	case printable:
		return "'" + v + "'"
	}
	return strconv.Quote(v)
}
