# A policy that never finishes: ten billion iterations.
package pave.policies.loop

deny contains "unreachable" if {
	some i in numbers.range(1, 100000)
	some j in numbers.range(1, 100000)
	i == -j
}
