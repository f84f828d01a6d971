package sim

// debugErrors adds the full error chain under each "reject" line of a log; set it
// while debugging a seed, never in golden files.
var debugErrors = false
