package netfilter
