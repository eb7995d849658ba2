package pave.policies.broken

deny contains msg if {
	input.service.replicas > 1
	msg := undefined_helper(input.service)
}
