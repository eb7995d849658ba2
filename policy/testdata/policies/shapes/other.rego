# METADATA
# title: Another policy
# custom:
#   id: other
package pave.policies.other

deny contains {"msg": 42} if input.environment == "bad"
