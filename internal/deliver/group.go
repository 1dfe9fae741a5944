package deliver

import "strings"

// Group is the part of a message's recipients that goes to one destination in one
// transaction: Host is the job's destination, Idx the recipients' positions in the message's
// recipient list, in order.
type Group struct {
	Host string
	Idx  []int
}

// GroupRecipients splits a message's recipients into transactions, the way mxout deliver and
// mxout transport both do: all of them to host when one is given (-d, a job's "host") or when
// forced (-F: the static route decides, host is then the first recipient's domain); otherwise
// by each recipient's domain (compared without case), groups in the order of first appearance.
// A group larger than limit (> 0) is cut into several groups of at most limit recipients with
// the same host, as Postfix's smtp_destination_recipient_limit cuts a large envelope: each
// recipient is still in exactly one group. noDomain lists the recipients that have no domain
// to deliver to (only when grouping by domain); they are in no group.
func GroupRecipients(rcpts []string, host string, forced bool, limit int) (groups []Group, noDomain []int) {
	if host != "" || forced {
		g := Group{Host: host}
		for i := range rcpts {
			g.Idx = append(g.Idx, i)
		}
		if g.Host == "" && len(rcpts) > 0 {
			g.Host = DomainOf(rcpts[0])
		}
		return cut([]Group{g}, limit), nil
	}
	by := map[string]int{}
	for i, rcpt := range rcpts {
		d := DomainOf(rcpt)
		if d == "" {
			noDomain = append(noDomain, i)
			continue
		}
		key := strings.ToLower(d)
		k, ok := by[key]
		if !ok {
			k = len(groups)
			by[key] = k
			groups = append(groups, Group{Host: d})
		}
		groups[k].Idx = append(groups[k].Idx, i)
	}
	return cut(groups, limit), noDomain
}

// cut splits every group into runs of at most limit recipients (limit <= 0: no cut).
func cut(groups []Group, limit int) []Group {
	if limit <= 0 {
		return groups
	}
	var out []Group
	for _, g := range groups {
		for len(g.Idx) > limit {
			out = append(out, Group{Host: g.Host, Idx: g.Idx[:limit:limit]})
			g.Idx = g.Idx[limit:]
		}
		out = append(out, g)
	}
	return out
}

// DomainOf is the part of addr after the last '@', "" when there is none.
func DomainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return addr[i+1:]
}
