package catalog

import "strings"

// Owner tells which service a catalog path belongs to: "team/name" for
// services/<team>/<name>/… and for exceptions/<team>/<name>.yaml, "" for
// any other path. It is the one place that knows how the catalog's layout
// names a service.
func Owner(path string) (team, name string, ok bool) {
	parts := strings.Split(path, "/")
	switch {
	case len(parts) >= 4 && parts[0] == ServicesDir && parts[1] != "" && parts[2] != "":
		return parts[1], parts[2], true
	case len(parts) == 3 && parts[0] == ExceptionsDir && parts[1] != "" && strings.HasSuffix(parts[2], ".yaml") && parts[2] != ".yaml":
		return parts[1], strings.TrimSuffix(parts[2], ".yaml"), true
	}
	return "", "", false
}

// ServiceIDOf is the "team/name" id of the service a catalog path belongs
// to (see Owner), or "".
func ServiceIDOf(path string) string {
	team, name, ok := Owner(path)
	if !ok {
		return ""
	}
	return team + "/" + name
}

// ServiceFileOf returns the service.yaml a file's errors make invalid:
// the file itself for a service.yaml, services/<team>/<name>/service.yaml
// for exceptions/<team>/<name>.yaml, "" for any other file.
func ServiceFileOf(file string) string {
	team, name, ok := Owner(file)
	if !ok {
		return ""
	}
	if strings.HasPrefix(file, ServicesDir+"/") && file != ServiceFileFor(team, name) {
		return ""
	}
	return ServiceFileFor(team, name)
}

// ServiceFileFor is the path of a service's service.yaml.
func ServiceFileFor(team, name string) string {
	return ServicesDir + "/" + team + "/" + name + "/" + ServiceFile
}
