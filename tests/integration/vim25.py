"""A small vim25 SOAP client for the tests: reads back what vic-machine made in vcsim and
plays the appliance's part (tests/fixtures/fake_appliance.py).

Only what the tests need: login, property retrieval over a container view, ReconfigVM_Task
with extraConfig, tasks, datastore file download and datastore browsing. Independent of the
C client on purpose: a test that reads the inventory back through the code under test
proves less.
"""

import hashlib
import http.client
import socket
import ssl
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

NS = "urn:vim25"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ENV = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
       "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
       "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
       "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
       "<soapenv:Body>%s</soapenv:Body></soapenv:Envelope>")


class Fault(Exception):
    def __init__(self, fault_type, message):
        super().__init__("%s: %s" % (fault_type, message))
        self.fault_type = fault_type


def thumbprint(addr):
    """The SHA-1 thumbprint of the server certificate at host:port, as vSphere prints it."""
    host, port = addr.rsplit(":", 1)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, int(port)), timeout=10) as s:
        with ctx.wrap_socket(s) as t:
            der = t.getpeercert(True)
    h = hashlib.sha1(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _ref(ref):
    t, v = ref.split(":", 1)
    return "<_this type=\"%s\">%s</_this>" % (t, escape(v))


def _val(e):
    """A property value: references as "Type:value", option arrays as dicts, arrays as lists,
    data objects as dicts, simple values as strings."""
    xtype = e.get("{%s}type" % XSI) or ""
    xtype = xtype.rsplit(":", 1)[-1]
    if xtype == "ManagedObjectReference" or (e.get("type") and len(e) == 0):
        return "%s:%s" % (e.get("type"), e.text or "")
    if xtype == "ArrayOfOptionValue":
        out = {}
        for ov in e:
            k = ov.find("{%s}key" % NS)
            v = ov.find("{%s}value" % NS)
            out[k.text if k is not None else ""] = (v.text or "") if v is not None else ""
        return out
    if xtype.startswith("ArrayOf"):
        return [_val(c) for c in e]
    if len(e) == 0:
        return e.text or ""
    d = {}
    for c in e:
        name = _local(c.tag)
        v = _val(c)
        if name in d:
            if not isinstance(d[name], list):
                d[name] = [d[name]]
            d[name].append(v)
        else:
            d[name] = v
    return d


class Vim:
    def __init__(self, addr, user, password, timeout=20):
        self.addr = addr
        host, port = addr.rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.timeout = timeout
        self.cookie = None
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.ctx = ctx
        sc = self.call("RetrieveServiceContent", "ServiceInstance:ServiceInstance",
                       "")
        rv = sc.find("{%s}returnval" % NS)
        self.sc = {_local(c.tag): _val(c) for c in rv}
        self.call("Login", self.sc["sessionManager"],
                  "<userName>%s</userName><password>%s</password>"
                  % (escape(user), escape(password)))

    def _conn(self):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                           timeout=self.timeout)

    def call(self, method, this, inner):
        body = ENV % ("<%s xmlns=\"urn:vim25\">%s%s</%s>" % (method, _ref(this), inner, method))
        c = self._conn()
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "urn:vim25/6.5"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        c.request("POST", "/sdk", body.encode(), headers)
        r = c.getresponse()
        data = r.read()
        sc = r.getheader("Set-Cookie")
        if sc:
            self.cookie = sc.split(";", 1)[0]
        c.close()
        root = ET.fromstring(data)
        bodyel = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
        resp = bodyel[0]
        if _local(resp.tag) == "Fault":
            msg = resp.findtext("faultstring") or ""
            detail = resp.find("detail")
            ft = "Fault"
            if detail is not None and len(detail):
                ft = _local(detail[0].tag).replace("Fault", "", 1) if False else \
                    (detail[0].get("{%s}type" % XSI) or _local(detail[0].tag)).rsplit(":", 1)[-1]
            raise Fault(ft, msg)
        return resp

    def wait_task(self, task, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            info = self.props(task, ["info"])["info"]
            if info.get("state") == "success":
                return info.get("result")
            if info.get("state") == "error":
                raise Fault("TaskError", str(info.get("error")))
            time.sleep(0.05)
        raise TimeoutError(task)

    def props(self, ref, paths):
        t = ref.split(":", 1)[0]
        spec = "<specSet><propSet><type>%s</type>%s</propSet><objectSet>%s</objectSet></specSet>" % (
            t, "".join("<pathSet>%s</pathSet>" % p for p in paths),
            _ref(ref).replace("_this", "obj"))
        resp = self.call("RetrievePropertiesEx", self.sc["propertyCollector"],
                         spec + "<options/>")
        out = {}
        for oc in resp.iter("{%s}objects" % NS):
            for ps in oc.findall("{%s}propSet" % NS):
                out[ps.findtext("{%s}name" % NS)] = _val(ps.find("{%s}val" % NS))
        return out

    def objects(self, vtype, paths):
        """Every object of vtype in the inventory: [(ref, {path: value})]."""
        view = self.call("CreateContainerView", self.sc["viewManager"],
                         "<container type=\"Folder\">%s</container><type>%s</type>"
                         "<recursive>true</recursive>"
                         % (self.sc["rootFolder"].split(":", 1)[1], vtype))
        vref = _val(view.find("{%s}returnval" % NS))
        spec = ("<specSet><propSet><type>%s</type>%s</propSet><objectSet>"
                "<obj type=\"ContainerView\">%s</obj><skip>true</skip>"
                "<selectSet xsi:type=\"TraversalSpec\"><name>v</name><type>ContainerView</type>"
                "<path>view</path><skip>false</skip></selectSet></objectSet></specSet>"
                % (vtype, "".join("<pathSet>%s</pathSet>" % p for p in paths),
                   vref.split(":", 1)[1]))
        resp = self.call("RetrievePropertiesEx", self.sc["propertyCollector"],
                         spec + "<options/>")
        out = []
        for oc in resp.iter("{%s}objects" % NS):
            ref = _val(oc.find("{%s}obj" % NS))
            p = {}
            for ps in oc.findall("{%s}propSet" % NS):
                p[ps.findtext("{%s}name" % NS)] = _val(ps.find("{%s}val" % NS))
            out.append((ref, p))
        self.call("DestroyView", vref, "")
        return out

    def vms(self):
        res = []
        for ref, p in self.objects("VirtualMachine",
                                   ["name", "runtime.powerState", "config.extraConfig",
                                    "resourcePool", "config.hardware.numCPU",
                                    "config.hardware.memoryMB", "config.hardware.device"]):
            p["ref"] = ref
            p["extra"] = {k: v for k, v in (p.get("config.extraConfig") or {}).items() if v}
            res.append(p)
        return res

    def pools(self):
        out = []
        for ref, p in self.objects("ResourcePool", ["name", "parent", "config"]):
            p["ref"] = ref
            out.append(p)
        return out

    def reconfigure(self, vm, extra):
        opts = "".join("<extraConfig xsi:type=\"OptionValue\"><key>%s</key>"
                       "<value xsi:type=\"xsd:string\">%s</value></extraConfig>"
                       % (escape(k), escape(v)) for k, v in extra.items())
        r = self.call("ReconfigVM_Task", vm, "<spec>%s</spec>" % opts)
        self.wait_task(_val(r.find("{%s}returnval" % NS)))

    def ds_get(self, ds, rel, dc="DC0"):
        """A datastore file's bytes, or None when it does not exist."""
        c = self._conn()
        c.request("GET", "/folder/%s?dcPath=%s&dsName=%s" % (rel, dc, ds),
                  headers={"Cookie": self.cookie})
        r = c.getresponse()
        data = r.read()
        c.close()
        return data if r.status == 200 else None

    def ds_files(self, ds_name):
        """Names at the top of a datastore (folders included), through its browser."""
        for ref, p in self.objects("Datastore", ["name", "browser"]):
            if p["name"] != ds_name:
                continue
            r = self.call("SearchDatastore_Task", p["browser"],
                          "<datastorePath>[%s]</datastorePath><searchSpec><details><fileType>true"
                          "</fileType><fileSize>false</fileSize><modification>false"
                          "</modification><fileOwner>false</fileOwner></details>"
                          "<matchPattern>*</matchPattern></searchSpec>"
                          % escape(ds_name))
            res = self.wait_task(_val(r.find("{%s}returnval" % NS)))
            files = res.get("file") if isinstance(res, dict) else None
            if files is None:
                return []
            if isinstance(files, dict):
                files = [files]
            return sorted(f.get("path") for f in files)
        raise KeyError(ds_name)
