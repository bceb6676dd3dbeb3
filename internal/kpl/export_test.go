package kpl

// ClassifyError exposes the producer's classification of a failed call to the external
// tests: the class ("retry", "throttle" or "permanent"), the code reported in metrics and
// messages, and whether Kinesis answered (what counts against MaxRetries).
func ClassifyError(err error) (class, code string, kinesisAnswered bool) {
	c, code := classifyError(err)
	return [...]string{classRetry: "retry", classThrottle: "throttle", classPermanent: "permanent"}[c], code, answered(err)
}
