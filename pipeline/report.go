package pipeline

import "github.com/pave-dev/pave/policy"

// Report is the run as pave check reports it.
func (r *Run) Report() *policy.Report {
	rep := &policy.Report{Results: []*policy.Result{}, Policies: r.Policies, Exceptions: r.Exceptions}
	for _, e := range r.Errors {
		rep.Errors = append(rep.Errors, policy.ErrorOf(e))
	}
	for _, s := range r.Services {
		if s.Own != nil {
			rep.Results = append(rep.Results, s.Own)
		}
		for _, o := range s.Outcomes {
			rep.Results = append(rep.Results, o.Verdict)
		}
	}
	return rep
}
