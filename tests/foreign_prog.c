/* A cgroup_skb program that passes everything: someone else's program, for ct's tests. */

#define SEC(name) __attribute__((section(name), used))

#ifndef PROG_NAME
#define PROG_NAME cttest_foreign
#endif

SEC("cgroup_skb/egress")
int PROG_NAME(void *skb)
{
	return 1;
}

char _license[] SEC("license") = "GPL";
