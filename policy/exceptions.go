package policy

import (
	"time"

	"github.com/pave-dev/pave/catalog"
)

// ServiceException is an exception of a service, apart from the
// violations it covers.
type ServiceException struct {
	// Service is "team/name".
	Service string
	Exception
}

// ServiceExceptions lists every exception of svc (with its expiry judged
// by the engine's clock), in the order of its exceptions file.
func (e *Engine) ServiceExceptions(svc *catalog.Service) []ServiceException {
	var out []ServiceException
	for _, x := range exceptionsOf(svc, "", e.opts.Now()) {
		out = append(out, ServiceException{Service: svc.ID(), Exception: x})
	}
	return out
}

// FileExceptions lists every exception of an exceptions file, valid or
// not, with its expiry judged on now: what a review compares.
func FileExceptions(xf *catalog.Exceptions, now time.Time) []ServiceException {
	service := catalog.ServiceIDOf(xf.File)
	var out []ServiceException
	for _, x := range fileExceptions(xf, "", now) {
		out = append(out, ServiceException{Service: service, Exception: x})
	}
	return out
}
