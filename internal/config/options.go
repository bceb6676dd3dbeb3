package config

// An Option is one option given in code, as the constructors' option interfaces carry it
// to Load: what it sets, the settings it sets (whose environment variables it takes the
// place of), and how errors name it.
type Option struct {
	// Name is the option's function, as errors name it: "WithBatchCount".
	Name string
	// Args are the option's arguments, as errors show them after the name: strings
	// quoted, durations as Go writes them, a [Secret] never. Nil for an option whose
	// arguments errors never show (a client, a function, a configuration).
	Args []any
	// Settings names the settings the option sets, by their names in errors and in the
	// README's settings table ("batch_count"). The option takes the place of their
	// environment variables, even of a value of theirs that does not parse.
	Settings []string
	// Set applies the option to the Config.
	Set func(*Config)
	// Check, if set, is called by Load before anything is set: its error refuses the
	// option.
	Check func() error
}

// The option interfaces of the constructors: TraceOption is what trace.New takes,
// MetricOption metric.New, LogOption log.New, ProducerOption otelkinesis.NewProducer,
// SetupOption the one-call setup of package sdk (sdk.New).
// Their methods are unexported, so only this package's option types implement them, each
// the interfaces of the constructors its option applies to: an option meant for one
// constructor given to another does not compile.
type (
	// TraceOption is an option of the trace exporter.
	TraceOption interface{ traceOption() *Option }
	// MetricOption is an option of the metric exporter.
	MetricOption interface{ metricOption() *Option }
	// LogOption is an option of the log exporter.
	LogOption interface{ logOption() *Option }
	// ProducerOption is an option of a shared producer.
	ProducerOption interface{ producerOption() *Option }
	// SetupOption is an option of the one-call setup: every option of the three
	// exporters, and the setup's own options (which embed [SetupOnly] and carry no
	// *Option: the setup applies them itself).
	SetupOption interface{ setupOption() *Option }
)

// SetupOnly makes a type of package sdk an option of the setup alone: a type embedding it
// implements SetupOption and no other option interface.
type SetupOnly struct{}

func (SetupOnly) setupOption() *Option { return nil }

// AllOption is an option of every constructor: the three exporters and the producer.
type AllOption interface {
	TraceOption
	MetricOption
	LogOption
	ProducerOption
	SetupOption
}

// ExporterOption is an option of the three exporters, not of the producer.
type ExporterOption interface {
	TraceOption
	MetricOption
	LogOption
	SetupOption
}

type allOption struct{ o *Option }

func (a allOption) traceOption() *Option    { return a.o }
func (a allOption) metricOption() *Option   { return a.o }
func (a allOption) logOption() *Option      { return a.o }
func (a allOption) producerOption() *Option { return a.o }
func (a allOption) setupOption() *Option    { return a.o }

type exporterOption struct{ o *Option }

func (e exporterOption) traceOption() *Option  { return e.o }
func (e exporterOption) metricOption() *Option { return e.o }
func (e exporterOption) logOption() *Option    { return e.o }
func (e exporterOption) setupOption() *Option  { return e.o }

type traceOption struct{ o *Option }

func (t traceOption) traceOption() *Option { return t.o }

type metricOption struct{ o *Option }

func (m metricOption) metricOption() *Option { return m.o }

type logOption struct{ o *Option }

func (l logOption) logOption() *Option { return l.o }

// ForAll returns o as an option of every constructor.
func ForAll(o *Option) AllOption { return allOption{o} }

// ForExporters returns o as an option of the three exporters.
func ForExporters(o *Option) ExporterOption { return exporterOption{o} }

// ForTraces returns o as an option of the trace exporter only.
func ForTraces(o *Option) TraceOption { return traceOption{o} }

// ForMetrics returns o as an option of the metric exporter only.
func ForMetrics(o *Option) MetricOption { return metricOption{o} }

// ForLogs returns o as an option of the log exporter only.
func ForLogs(o *Option) LogOption { return logOption{o} }

// TraceOptions returns what the trace exporter's options carry, for Load; nil options are
// left out.
func TraceOptions[O TraceOption](opts []O) []*Option {
	return collect(opts, func(o O) *Option { return o.traceOption() })
}

// MetricOptions is [TraceOptions] for the metric exporter.
func MetricOptions[O MetricOption](opts []O) []*Option {
	return collect(opts, func(o O) *Option { return o.metricOption() })
}

// LogOptions is [TraceOptions] for the log exporter.
func LogOptions[O LogOption](opts []O) []*Option {
	return collect(opts, func(o O) *Option { return o.logOption() })
}

// SetupOptionOf returns what an option of the exporters given to the setup carries, nil
// for one of the setup's own options.
func SetupOptionOf(o SetupOption) *Option { return o.setupOption() }

// ProducerOptions is [TraceOptions] for a shared producer.
func ProducerOptions[O ProducerOption](opts []O) []*Option {
	return collect(opts, func(o O) *Option { return o.producerOption() })
}

func collect[O any](opts []O, get func(O) *Option) []*Option {
	out := make([]*Option, 0, len(opts))
	for _, o := range opts {
		if any(o) == nil {
			continue
		}
		if opt := get(o); opt != nil && opt.Set != nil {
			out = append(out, opt)
		}
	}
	return out
}

// Secret is an argument errors never show: an option's Args hold it in the place of an
// external ID.
type Secret string
