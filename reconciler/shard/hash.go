package shard

import (
	"hash/fnv"
)

// Assign returns the member of members that owns service, by rendezvous
// (highest random weight) hashing: each member scores the service, the
// highest score wins. A member joining takes from each other member only
// the services it now scores highest on (about 1/N of them); one leaving
// hands each of its services to the member that scored second on it, and
// nothing else moves. "" when members is empty.
//
// service is "team/name": both environments of a service go to the same
// member, so that a promotion gate reads the environment before it in the
// same replica.
func Assign(members []string, service string) string {
	best, owner := uint64(0), ""
	for _, m := range members {
		s := score(m, service)
		if owner == "" || s > best || (s == best && m < owner) {
			best, owner = s, m
		}
	}
	return owner
}

// score is the weight of a member for a service: FNV-1a over both,
// finished with splitmix64's mixer so that similar names spread evenly.
func score(member, service string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(member))
	h.Write([]byte{0})
	h.Write([]byte(service))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
