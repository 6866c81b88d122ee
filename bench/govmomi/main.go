// The govmomi peer of bench/vsphere_bench.c: the same vSphere work, done with govmomi
// (Debian's golang-github-vmware-govmomi-dev, built in GOPATH mode by bench/bench-vsphere.sh),
// timed per iteration and counted in SOAP round trips.
//
//	govmomi-peer -u https://USER:PASS@127.0.0.1:PORT/sdk -n 20
//
// One iteration: login, an inventory walk (datacenters, clusters, hosts, resource pools,
// datastores, networks), create a resource pool, create a VM with 50 extraConfig keys, power
// it on, reconfigure one key, power it off, destroy it and the pool, log out. Prints
// "median_ms=... round_trips=..." (round trips of one iteration).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"sort"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type counter struct {
	soap.RoundTripper
	n int
}

func (c *counter) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	c.n++
	return c.RoundTripper.RoundTrip(ctx, req, res)
}

func check(err error, what string) {
	if err != nil {
		log.Fatalf("%s: %v", what, err)
	}
}

func wait(ctx context.Context, t *object.Task, err error, what string) types.AnyType {
	check(err, what)
	info, err := t.WaitForResult(ctx, nil)
	check(err, what)
	return info.Result
}

func iteration(ctx context.Context, raw string, i int) int {
	u, err := soap.ParseURL(raw)
	check(err, "url")
	rt := &counter{RoundTripper: soap.NewClient(u, true)}
	vc, err := vim25.NewClient(ctx, rt)
	check(err, "connect")
	c := &govmomi.Client{Client: vc, SessionManager: session.NewManager(vc)}
	check(c.Login(ctx, u.User), "login")

	f := find.NewFinder(vc, true)
	dc, err := f.Datacenter(ctx, "/DC0")
	check(err, "datacenter")
	f.SetDatacenter(dc)
	_, err = f.DatacenterList(ctx, "*")
	check(err, "datacenters")
	_, err = f.ClusterComputeResourceList(ctx, "*")
	check(err, "clusters")
	_, err = f.HostSystemList(ctx, "*/*")
	check(err, "hosts")
	_, err = f.ResourcePoolList(ctx, "*")
	check(err, "pools")
	_, err = f.DatastoreList(ctx, "*")
	check(err, "datastores")
	_, err = f.NetworkList(ctx, "*")
	check(err, "networks")

	root, err := f.ResourcePool(ctx, "/DC0/host/DC0_C0/Resources")
	check(err, "root pool")
	pool, err := root.Create(ctx, fmt.Sprintf("peer-pool-%d", i), types.DefaultResourceConfigSpec())
	check(err, "create pool")
	folders, err := dc.Folders(ctx)
	check(err, "folders")
	var ec []types.BaseOptionValue
	for k := 0; k < 50; k++ {
		ec = append(ec, &types.OptionValue{Key: fmt.Sprintf("guestinfo.vice./common/key%02d", k),
			Value: fmt.Sprintf("value %d", k)})
	}
	spec := types.VirtualMachineConfigSpec{
		Name: fmt.Sprintf("peer-vm-%d", i), GuestId: "otherGuest64", NumCPUs: 1, MemoryMB: 512,
		Files:       &types.VirtualMachineFileInfo{VmPathName: "[LocalDS_0]"},
		ExtraConfig: ec,
	}
	t, err := folders.VmFolder.CreateVM(ctx, spec, pool, nil)
	ref := wait(ctx, t, err, "create vm").(types.ManagedObjectReference)
	vm := object.NewVirtualMachine(vc, ref)
	t, err = vm.PowerOn(ctx)
	wait(ctx, t, err, "power on")
	t, err = vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{
		&types.OptionValue{Key: "guestinfo.vice./common/key00", Value: "changed"}}})
	wait(ctx, t, err, "reconfigure")
	t, err = vm.PowerOff(ctx)
	wait(ctx, t, err, "power off")
	t, err = vm.Destroy(ctx)
	wait(ctx, t, err, "destroy vm")
	t, err = pool.Destroy(ctx)
	wait(ctx, t, err, "destroy pool")
	check(c.SessionManager.Logout(ctx), "logout")
	return rt.n
}

func main() {
	raw := flag.String("u", "", "https://user:pass@host:port/sdk")
	n := flag.Int("n", 20, "iterations")
	flag.Parse()
	ctx := context.Background()
	iteration(ctx, *raw, 0) // warm-up
	var ms []float64
	trips := 0
	for i := 1; i <= *n; i++ {
		t0 := time.Now()
		trips = iteration(ctx, *raw, i)
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
	}
	sort.Float64s(ms)
	fmt.Printf("median_ms=%.1f round_trips=%d\n", ms[len(ms)/2], trips)
}
