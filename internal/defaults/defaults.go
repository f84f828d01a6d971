// Package defaults fills a configuration's unset fields: one rule (the zero
// value means "the default") for every package's withDefaults.
package defaults

// Set sets *v to d when *v is the zero value of its type.
func Set[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}
