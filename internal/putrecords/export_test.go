package putrecords

// SampleRecords is sampleRecords for the tests outside the package.
var SampleRecords = sampleRecords
