package render

// TemplateField is the field path (as review.ObjectChange.Fields writes
// it) of the template annotation pave stamps on every object.
const TemplateField = "metadata.annotations[" + AnnotationTemplate + "]"
