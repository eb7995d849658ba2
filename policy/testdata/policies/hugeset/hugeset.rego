# A policy that builds a set of ten billion elements.
package pave.policies.hugeset

products contains i * j if {
	some i in numbers.range(1, 100000)
	some j in numbers.range(1, 100000)
}

deny contains "too many" if count(products) > 10
