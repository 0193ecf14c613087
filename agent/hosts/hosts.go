// Package hosts knows who is on the LAN: the kernel's neighbour tables,
// dnsmasq's leases and /etc/ethers, joined into address-to-MAC and
// MAC-to-name maps; the MAC form we store; and what a HOST given by a
// person (an address, a MAC or a name) refers to.
//
// Names are chosen by the devices themselves, so every name that comes in
// is made safe to print (CleanName) before anything else sees it.
package hosts
