#!/usr/bin/env python3
"""Check opsdeck_moto_server's patches with boto3; exit status 0 only if all hold.

    tests/aws/run/venv/bin/python tests/aws/check_patches.py            # own server
    tests/aws/run/venv/bin/python tests/aws/check_patches.py --url URL  # a running one

Without --url it starts the patched server in this process on a free loopback port
(nothing else is touched). With --url it checks a running opsdeck_moto_server, e.g.
the lab's (tests/aws/moto.sh up): that RESETS its state (POST /moto-api/reset), so
re-run seed.py afterwards. Takes ~7 s (one target drains for 2 s, one promotion
takes 1 s).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
import urllib.request
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

REGION = "ap-northeast-2"
FAILURES: list[str] = []
PASSED: list[str] = []


def check(cond: bool, what: str) -> None:
    (PASSED if cond else FAILURES).append(what)
    print(f"  {'ok  ' if cond else 'FAIL'} {what}", flush=True)


def error_code(fn, *a, **kw) -> str | None:
    try:
        fn(*a, **kw)
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


def clients(url: str):
    s = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return {n: s.client(n, endpoint_url=url) for n in ("ec2", "elbv2", "rds", "elasticache")}


def check_elbv2(c) -> None:
    print("ELBv2 DeregisterTargets -> draining for deregistration_delay.timeout_seconds")
    ec2, elbv2 = c["ec2"], c["elbv2"]
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    sub = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24", AvailabilityZone=REGION + "a")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ids = [
        i["InstanceId"]
        for i in ec2.run_instances(
            ImageId=ami, MinCount=4, MaxCount=4, SubnetId=sub["Subnet"]["SubnetId"]
        )["Instances"]
    ]
    tg = elbv2.create_target_group(
        Name="check-tg", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="instance"
    )["TargetGroups"][0]["TargetGroupArn"]
    tg_default = elbv2.create_target_group(
        Name="check-tg-default", Protocol="HTTP", Port=8080, VpcId=vpc
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": i} for i in ids[:3]])
    elbv2.register_targets(TargetGroupArn=tg_default, Targets=[{"Id": ids[3]}])

    def states(arn, by_id=None):
        kw = {"Targets": [{"Id": i} for i in by_id]} if by_id else {}
        return {
            d["Target"]["Id"]: (d["TargetHealth"]["State"], d["TargetHealth"].get("Reason"))
            for d in elbv2.describe_target_health(TargetGroupArn=arn, **kw)[
                "TargetHealthDescriptions"
            ]
        }

    def set_delay(s: int) -> None:
        elbv2.modify_target_group_attributes(
            TargetGroupArn=tg,
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(s)}],
        )

    # Default delay (300 s, never modified): draining.
    elbv2.deregister_targets(TargetGroupArn=tg_default, Targets=[{"Id": ids[3]}])
    check(
        states(tg_default) == {ids[3]: ("draining", "Target.DeregistrationInProgress")},
        "default delay 300: deregistered target listed as draining (Target.DeregistrationInProgress)",
    )

    set_delay(2)
    t0 = time.time()
    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": ids[0]}, {"Id": ids[1]}])
    all_states = states(tg)
    check(
        all_states.get(ids[0]) == ("draining", "Target.DeregistrationInProgress")
        and all_states.get(ids[2]) == ("healthy", None),
        "delay 2: listing without targets shows draining + healthy targets",
    )
    check(
        states(tg, [ids[0]]) == {ids[0]: ("draining", "Target.DeregistrationInProgress")},
        "delay 2: asked by id, the deregistered target is draining",
    )
    check(
        error_code(elbv2.deregister_targets, TargetGroupArn=tg, Targets=[{"Id": ids[0]}]) is None,
        "deregistering a draining target again is accepted",
    )
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": ids[1]}])
    check(states(tg, [ids[1]]) == {ids[1]: ("healthy", None)},
          "registering a draining target again cancels the draining (healthy)")
    time.sleep(max(0.0, 2.3 - (time.time() - t0)))
    check(
        states(tg, [ids[0]]) == {ids[0]: ("unused", "Target.NotRegistered")},
        "after the delay, asked by id: unused (Target.NotRegistered)",
    )
    check(ids[0] not in states(tg), "after the delay, the target is gone from the listing")

    set_delay(0)
    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": ids[2]}])
    check(
        states(tg, [ids[2]]) == {ids[2]: ("unused", "Target.NotRegistered")}
        and ids[2] not in states(tg),
        "delay 0: the target is gone at once (unused / Target.NotRegistered)",
    )
    check(
        error_code(elbv2.deregister_targets, TargetGroupArn=tg, Targets=[{"Id": ids[2]}])
        == "InvalidTarget",
        "deregistering a target that is not registered: InvalidTarget (moto's own)",
    )


def check_rds(c) -> None:
    print("RDS PromoteReadReplica -> standalone instance")
    rds = c["rds"]
    rds.create_db_instance(
        DBInstanceIdentifier="check-db", Engine="mysql", DBInstanceClass="db.t3.micro",
        AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="password123",
    )
    rds.create_db_instance_read_replica(
        DBInstanceIdentifier="check-db-replica", SourceDBInstanceIdentifier="check-db"
    )

    def db(i):
        return rds.describe_db_instances(DBInstanceIdentifier=i)["DBInstances"][0]

    check(db("check-db-replica").get("ReadReplicaSourceDBInstanceIdentifier") == "check-db",
          "before: the replica names its source")
    out = rds.promote_read_replica(DBInstanceIdentifier="check-db-replica")["DBInstance"]
    check(out["DBInstanceIdentifier"] == "check-db-replica", "PromoteReadReplica answers with the instance")
    check("ReadReplicaSourceDBInstanceIdentifier" not in db("check-db-replica"),
          "after: the promoted instance has no ReadReplicaSourceDBInstanceIdentifier")
    check(db("check-db").get("ReadReplicaDBInstanceIdentifiers", []) == [],
          "after: the former source lists no read replica")
    check(
        error_code(rds.promote_read_replica, DBInstanceIdentifier="check-db-replica")
        == "InvalidDBInstanceState",
        "promoting it again (not a replica): InvalidDBInstanceState",
    )
    check(error_code(rds.promote_read_replica, DBInstanceIdentifier="nope") == "DBInstanceNotFound",
          "promoting an unknown instance: DBInstanceNotFound")

    # A replica tagged with a promotion time stays a 'modifying' replica that long.
    rds.create_db_instance_read_replica(
        DBInstanceIdentifier="check-db-slow", SourceDBInstanceIdentifier="check-db",
        Tags=[{"Key": "opsdeck-test:promote-seconds", "Value": "1"}],
    )
    rds.promote_read_replica(DBInstanceIdentifier="check-db-slow")
    during = db("check-db-slow")
    check(during["DBInstanceStatus"] == "modifying"
          and during.get("ReadReplicaSourceDBInstanceIdentifier") == "check-db",
          "timed promotion: 'modifying' and still a replica right after the call")
    check(error_code(rds.promote_read_replica, DBInstanceIdentifier="check-db-slow")
          == "InvalidDBInstanceState", "timed promotion: a second call while modifying is refused")
    time.sleep(1.5)
    after = db("check-db-slow")
    check(after["DBInstanceStatus"] == "available"
          and "ReadReplicaSourceDBInstanceIdentifier" not in after,
          "timed promotion: available and standalone after its time")


def check_elasticache(c) -> None:
    print("ElastiCache ModifyReplicationGroup(PrimaryClusterId) and TestFailover")
    ec = c["elasticache"]
    ec.create_replication_group(
        ReplicationGroupId="check-redis", ReplicationGroupDescription="check", Engine="redis",
        ReplicasPerNodeGroup=1, PreferredCacheClusterAZs=[REGION + "a", REGION + "c"],
        AutomaticFailoverEnabled=True,
    )

    def roles(rg=None):
        rg = rg or ec.describe_replication_groups(ReplicationGroupId="check-redis")[
            "ReplicationGroups"][0]
        return {
            m["CacheClusterId"]: (m.get("CurrentRole"), m.get("PreferredAvailabilityZone"))
            for m in rg["NodeGroups"][0]["NodeGroupMembers"]
        }

    a, cz = REGION + "a", REGION + "c"
    check(roles() == {"check-redis-001": ("primary", a), "check-redis-002": ("replica", cz)},
          "before: 001 primary in 2a, 002 replica in 2c")
    out = ec.modify_replication_group(
        ReplicationGroupId="check-redis", PrimaryClusterId="check-redis-002", ApplyImmediately=True
    )["ReplicationGroup"]
    check(roles(out) == {"check-redis-001": ("replica", a), "check-redis-002": ("primary", cz)},
          "ModifyReplicationGroup answer: 002 primary (2c), 001 replica (2a)")
    check(roles() == {"check-redis-001": ("replica", a), "check-redis-002": ("primary", cz)},
          "DescribeReplicationGroups after ModifyReplicationGroup: roles swapped, AZs kept")
    check(
        error_code(ec.modify_replication_group, ReplicationGroupId="check-redis",
                   PrimaryClusterId="not-a-member") == "InvalidParameterValue",
        "PrimaryClusterId that is not a member: InvalidParameterValue",
    )
    out = ec.test_failover(ReplicationGroupId="check-redis", NodeGroupId="0001")["ReplicationGroup"]
    check(roles(out) == {"check-redis-001": ("primary", a), "check-redis-002": ("replica", cz)},
          "TestFailover answer: the replica (001) promoted")
    check(roles() == {"check-redis-001": ("primary", a), "check-redis-002": ("replica", cz)},
          "DescribeReplicationGroups after TestFailover: 001 primary again")
    check(
        error_code(ec.test_failover, ReplicationGroupId="check-redis", NodeGroupId="0009")
        == "NodeGroupNotFoundFault",
        "TestFailover on an unknown node group: NodeGroupNotFoundFault",
    )
    check(
        error_code(ec.test_failover, ReplicationGroupId="nope", NodeGroupId="0001")
        == "ReplicationGroupNotFoundFault",
        "TestFailover on an unknown replication group: ReplicationGroupNotFoundFault",
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--url", help="check a running opsdeck_moto_server (its state is reset)")
    args = ap.parse_args()

    server = None
    if args.url:
        url = args.url.rstrip("/")
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import opsdeck_moto_server  # noqa: F401  (applies and checks the patches)
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request lines
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        print(f"patched server in this process at {url} "
              f"(patches: {', '.join(opsdeck_moto_server.PATCHES)})")
    try:
        urllib.request.urlopen(
            urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b""), timeout=10
        ).read()
        c = clients(url)
        for fn in (check_elbv2, check_rds, check_elasticache):
            try:
                fn(c)
            except Exception:  # a crash in one group still runs the others
                traceback.print_exc()
                FAILURES.append(f"{fn.__name__} raised")
    finally:
        if server is not None:
            server.stop()
    print(f"{len(PASSED)} passed, {len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
