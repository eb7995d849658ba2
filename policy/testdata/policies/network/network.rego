package pave.policies.phone_home

deny contains msg if {
	resp := http.send({"method": "GET", "url": "https://example.com/allowed"})
	resp.status_code != 200
	msg := "denied by a remote service"
}
