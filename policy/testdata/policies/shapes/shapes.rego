# METADATA
# title: Result shapes
# description: Every shape a deny or warn rule may give.
# custom:
#   id: shapes
#   remediation: Read the shapes test.
package pave.policies.shapes

deny contains "a plain message"

deny contains {"msg": "an object on the image", "field": "image", "hint": "a hint of its own"}

deny contains {"msg": "an object on the prod replicas", "field": "spec.replicas"}

deny contains {"msg": "an object", "object": {"kind": "Deployment", "name": "checkout"}}

warn contains {"msg": "a warning on env", "field": "env.LOG_LEVEL"}

warn contains {"policy": "other", "msg": "a warning for another policy"}
