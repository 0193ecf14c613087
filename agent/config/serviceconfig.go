package config

import (
	"fmt"
	"slices"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/uci"
)

// A Service names the ports whose traffic a host's usage by service puts
// under it: `config service 'NAME'` with `list port 'tcp/8080'`, or one
// of BuiltinServices.
type Service struct {
	Name  string
	Ports []netfilter.ServicePort
}

// OtherService is where a host's traffic on no service's port goes.
const OtherService = "other"

// MaxServices bounds the services counted (built in and configured): each
// is a row per host in the database and its ports elements in the sets.
const MaxServices = 32

// BuiltinServices are the services counted unless a config section of the
// same name says otherwise.
var BuiltinServices = []Service{
	{"https", ports("tcp/443")},
	{"quic", ports("udp/443")},
	{"http", ports("tcp/80")},
	{"dns", ports("udp/53", "tcp/53")},
	{"dot", ports("tcp/853")},
	{"ssh", ports("tcp/22")},
	{"ntp", ports("udp/123")},
	{"imaps", ports("tcp/993")},
	{"smtp-submission", ports("tcp/465", "tcp/587")},
	{"pop3s", ports("tcp/995")},
	{"rdp", ports("tcp/3389")},
	{"openvpn", ports("udp/1194")},
	{"wireguard", ports("udp/51820")},
}

func ports(s ...string) []netfilter.ServicePort {
	out := make([]netfilter.ServicePort, len(s))
	for i, p := range s {
		sp, err := netfilter.ParseServicePort(p)
		if err != nil {
			panic(err) // the table above is ours
		}
		out[i] = sp
	}
	return out
}

func (r *reader) service(s uci.Section) error {
	svc := Service{Name: s.Name}
	if !netfilter.ValidName(s.Name) || s.Name == OtherService {
		return r.bad(s.Line, "a service section needs a name (config service 'NAME'; not %q)", OtherService)
	}
	for _, o := range s.Options {
		if o.Name != "port" {
			return r.bad(o.Line, "service %s: unknown option %q (list port 'tcp/8080')", s.Name, o.Name)
		}
		p, err := netfilter.ParseServicePort(o.Value)
		if err != nil {
			return r.bad(o.Line, "service %s: %v", s.Name, err)
		}
		// A port counts for one service only: the second would never count.
		for _, other := range r.services {
			if slices.Contains(other.Ports, p) {
				return r.bad(o.Line, "service %s: port %s is service %s's already: a port belongs to one service", s.Name, p, other.Name)
			}
		}
		svc.Ports = append(svc.Ports, p)
	}
	if len(svc.Ports) == 0 {
		return r.bad(s.Line, "service %s needs list port (such as 'tcp/8080')", s.Name)
	}
	if slices.ContainsFunc(r.services, func(x Service) bool { return x.Name == svc.Name }) {
		return r.bad(s.Line, "a second service %s", svc.Name)
	}
	r.services = append(r.services, svc)
	return nil
}

// finishServices puts the configured services before the built-in ones
// (a configured port wins) and drops built-in ones they rename.
func (c *Config) finishServices(configured []Service) error {
	c.Services = slices.Clone(configured)
	for _, b := range BuiltinServices {
		if !slices.ContainsFunc(configured, func(x Service) bool { return x.Name == b.Name }) {
			c.Services = append(c.Services, b)
		}
	}
	if len(c.Services) > MaxServices {
		return fmt.Errorf("%d services with the %d built in: at most %d", len(c.Services), len(BuiltinServices), MaxServices)
	}
	return nil
}

// ServicePorts are the ports the service sets count: none while services
// or hosts are off.
func (c *Config) ServicePorts() []netfilter.ServicePort {
	if !c.ServicesOn || !c.Hosts {
		return nil
	}
	var out []netfilter.ServicePort
	for _, s := range c.Services {
		out = append(out, s.Ports...)
	}
	return out
}

// ServiceOf names the service of a port: the first that lists it, or "".
func (c *Config) ServiceOf(p netfilter.ServicePort) string {
	for _, s := range c.Services {
		if slices.Contains(s.Ports, p) {
			return s.Name
		}
	}
	return ""
}
