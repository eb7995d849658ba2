package render

// TemplateField is the field path (as ObjectChange.Fields writes it) of
// the template annotation pave stamps on every object.
const TemplateField = "metadata.annotations[" + AnnotationTemplate + "]"

// ProvenanceOnly reports whether a changed object differs only in the
// template annotation: what a template's version bump does to every
// object it renders.
func (c ObjectChange) ProvenanceOnly() bool {
	return c.Action == ActionChanged && len(c.Fields) == 1 && c.Fields[0] == TemplateField
}
