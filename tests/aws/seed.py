#!/usr/bin/env python3
"""Seed the AWS test lab (moto) with a two-AZ production fleet for opsdeck.

    tests/aws/run/venv/bin/python tests/aws/seed.py [--backends N] [--dereg-delay S] [--lab-ips]

Endpoint: $MOTO_URL (default http://127.0.0.1:5000), region ap-northeast-2, fake
credentials. Resets moto first (POST /moto-api/reset), so it is idempotent: every run
leaves the same fleet (new ids). Writes tests/aws/run/opsdeck.toml and
tests/aws/run/aws.env, then prints a summary. See tests/aws/README.md for what is made.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import random
import sys
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

REGION = "ap-northeast-2"
AZ_A, AZ_C = "ap-northeast-2a", "ap-northeast-2c"
AWS_DIR = Path(__file__).resolve().parent
RUN = AWS_DIR / "run"
MAX_BACKENDS = 460  # 230 per AZ: 10.0.1.11 .. 10.0.1.240 and 10.0.2.11 .. 10.0.2.240


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} [aws-seed] {msg}", flush=True)


def die(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} [aws-seed] ERROR: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def backend_names(n: int) -> list[tuple[str, str]]:
    """[(name, az)]: web-a1.. in 2a get the first ceil(n/2), web-c1.. in 2c the rest."""
    n_a = (n + 1) // 2
    return [(f"web-a{i}", AZ_A) for i in range(1, n_a + 1)] + [
        (f"web-c{i}", AZ_C) for i in range(1, n - n_a + 1)
    ]


def env_key(name: str) -> str:
    return name.upper().replace("-", "_")


def chunks(seq: list, n: int):
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--backends", type=int, default=4, help="backend instances (default 4)")
    ap.add_argument(
        "--dereg-delay",
        type=int,
        default=300,
        help="target group deregistration_delay.timeout_seconds (default 300)",
    )
    ap.add_argument(
        "--alb-dim-order",
        choices=("both", "lb-az", "az-lb"),
        default="both",
        help="dimension order(s) of the per-AZ ALB metrics (default both; see README:\n"
        "GetMetricData matches one stored order, GetMetricStatistics sums all)",
    )
    ap.add_argument(
        "--rds-promote-seconds",
        type=int,
        default=0,
        help="seconds the replica's PromoteReadReplica stays 'modifying' (default 0: at once;\n"
        "a tag the test server reads, see opsdeck_moto_server.py)",
    )
    ap.add_argument(
        "--cache-auto-failover",
        choices=("on", "off"),
        default="on",
        help="the ElastiCache group's automatic failover (default on: a primary change\n"
        "is a TestFailover; off: ModifyReplicationGroup PrimaryClusterId)",
    )
    ap.add_argument(
        "--lab-ips",
        action="store_true",
        help="give the instances the SSH lab's loopback addresses as private IPs (VPC\n"
        "127.0.0.0/16; web-a1 127.0.1.11 .. web-c2 127.0.2.12, as tests/lab/up.sh serves\n"
        "them), so SSH to an instance's private IP reaches the lab's sshd",
    )
    args = ap.parse_args()
    if not 1 <= args.backends <= MAX_BACKENDS:
        die(f"--backends must be 1..{MAX_BACKENDS}")
    if not 0 <= args.dereg_delay <= 3600:
        die("--dereg-delay must be 0..3600")

    url = os.environ.get("MOTO_URL", "http://127.0.0.1:5000").rstrip("/")
    t0 = time.monotonic()
    try:
        urllib.request.urlopen(
            urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b""), timeout=10
        ).read()
    except OSError as e:
        die(f"moto does not answer at {url} ({e}); start it: tests/aws/moto.sh up")
    log(f"reset moto at {url}")

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    cfg = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=30)

    def client(service: str):
        return session.client(service, endpoint_url=url, config=cfg)

    ec2, elbv2, rds, ecache, cw, logs = (
        client(s) for s in ("ec2", "elbv2", "rds", "elasticache", "cloudwatch", "logs")
    )
    rng = random.Random(42)

    # --- EC2 -------------------------------------------------------------------------
    net = "127.0" if args.lab_ips else "10.0"
    vpc_id = ec2.create_vpc(CidrBlock=f"{net}.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "prod-vpc"}])
    subnets = {}
    for az, cidr, name in ((AZ_A, f"{net}.1.0/24", "prod-a"), (AZ_C, f"{net}.2.0/24", "prod-c")):
        sid = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
        ec2.create_tags(Resources=[sid], Tags=[{"Key": "Name", "Value": name}])
        subnets[az] = sid
    sg_id = ec2.create_security_group(GroupName="prod-web", Description="prod web", VpcId=vpc_id)[
        "GroupId"
    ]
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    if not images:
        die("moto lists no AMIs for the region")
    ami = sorted(images, key=lambda i: i["ImageId"])[0]["ImageId"]

    def run_instance(az: str, ip: str, tags: dict[str, str]) -> str:
        spec = {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        r = ec2.run_instances(
            ImageId=ami,
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnets[az],
            PrivateIpAddress=ip,
            SecurityGroupIds=[sg_id],
            TagSpecifications=[spec] if spec["Tags"] else [],
        )
        return r["Instances"][0]["InstanceId"]

    ids: dict[str, str] = {}  # name -> instance id
    ips: dict[str, str] = {}
    ids["bastion"] = run_instance(
        AZ_A, f"{net}.1.5", {"Name": "bastion", "Role": "bastion", "Environment": "prod"}
    )
    ips["bastion"] = f"{net}.1.5"
    backends = backend_names(args.backends)
    counters = {AZ_A: 0, AZ_C: 0}
    for name, az in backends:
        base = ipaddress.ip_address(f"{net}.1.11" if az == AZ_A else f"{net}.2.11")
        ip = str(base + counters[az])
        counters[az] += 1
        ids[name] = run_instance(az, ip, {"Name": name, "Role": "backend", "Environment": "prod"})
        ips[name] = ip
    # Decoys: opsdeck must not show these (no Environment tag; Environment=staging).
    ids["decoy"] = run_instance(AZ_C, f"{net}.2.5", {})
    ips["decoy"] = f"{net}.2.5"
    ids["staging"] = run_instance(
        AZ_C, f"{net}.2.6", {"Name": "staging-web", "Role": "backend", "Environment": "staging"}
    )
    ips["staging"] = f"{net}.2.6"
    log(f"EC2: vpc {vpc_id}, subnets {subnets[AZ_A]} ({AZ_A}) {subnets[AZ_C]} ({AZ_C}), "
        f"{len(ids)} instances ({len(backends)} backends)")

    # --- ELBv2 -----------------------------------------------------------------------
    lb = elbv2.create_load_balancer(
        Name="prod-alb",
        Subnets=[subnets[AZ_A], subnets[AZ_C]],
        SecurityGroups=[sg_id],
        Scheme="internet-facing",
        Type="application",
        IpAddressType="ipv4",
    )["LoadBalancers"][0]
    alb_arn = lb["LoadBalancerArn"]
    alb_dim = alb_arn.split(":loadbalancer/", 1)[1]  # app/prod-alb/<id>
    tg = elbv2.create_target_group(
        Name="prod-web",
        Protocol="HTTP",
        Port=8080,
        VpcId=vpc_id,
        TargetType="instance",
        HealthCheckProtocol="HTTP",
        HealthCheckPath="/health",
        HealthCheckIntervalSeconds=10,
    )["TargetGroups"][0]
    tg_arn = tg["TargetGroupArn"]
    listener_arn = elbv2.create_listener(
        LoadBalancerArn=alb_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
    )["Listeners"][0]["ListenerArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=tg_arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(args.dereg_delay)}],
    )
    for part in chunks([ids[n] for n, _ in backends], 100):
        elbv2.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": i, "Port": 8080} for i in part])
    log(f"ELBv2: prod-alb ({alb_dim}), target group prod-web with {len(backends)} targets, "
        f"deregistration delay {args.dereg_delay}s")

    # --- RDS -------------------------------------------------------------------------
    rds.create_db_instance(
        DBInstanceIdentifier="prod-db",
        Engine="mysql",
        EngineVersion="8.0.39",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="not-a-secret-1",
        AvailabilityZone=AZ_A,
        BackupRetentionPeriod=1,
    )
    rds.create_db_instance_read_replica(
        DBInstanceIdentifier="prod-db-replica",
        SourceDBInstanceIdentifier="prod-db",
        DBInstanceClass="db.t3.micro",
        AvailabilityZone=AZ_C,
        Tags=[{"Key": "opsdeck-test:promote-seconds", "Value": str(args.rds_promote_seconds)}]
        if args.rds_promote_seconds > 0
        else [],
    )
    dbs = {d["DBInstanceIdentifier"]: d for d in rds.describe_db_instances()["DBInstances"]}
    log("RDS: prod-db ({}) -> prod-db-replica ({})".format(
        dbs["prod-db"].get("AvailabilityZone"), dbs["prod-db-replica"].get("AvailabilityZone")))

    # --- ElastiCache -----------------------------------------------------------------
    rg = ecache.create_replication_group(
        ReplicationGroupId="prod-redis",
        ReplicationGroupDescription="prod redis",
        Engine="redis",
        CacheNodeType="cache.t4g.micro",
        ReplicasPerNodeGroup=1,  # moto ignores NumCacheClusters when cluster mode is disabled
        PreferredCacheClusterAZs=[AZ_A, AZ_C],
        AutomaticFailoverEnabled=args.cache_auto_failover == "on",
        MultiAZEnabled=args.cache_auto_failover == "on",
    )["ReplicationGroup"]
    members = rg["NodeGroups"][0]["NodeGroupMembers"]
    redis_primary = next(m["CacheClusterId"] for m in members if m.get("CurrentRole") == "primary")
    redis_replica = next(m["CacheClusterId"] for m in members if m.get("CurrentRole") == "replica")
    log("ElastiCache: prod-redis " + ", ".join(
        f"{m['CacheClusterId']} {m.get('CurrentRole')} {m.get('PreferredAvailabilityZone')}"
        for m in members))

    # --- CloudWatch metrics ----------------------------------------------------------
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    stamps = [now - dt.timedelta(minutes=i) for i in range(14, -1, -1)]  # 15 points, oldest first
    data: list[dict] = []

    def put(metric: str, dims: list[tuple[str, str]], unit: str, values) -> None:
        for ts, v in zip(stamps, values):
            data.append(
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": k, "Value": val} for k, val in dims],
                    "Timestamp": ts,
                    "Value": float(v),
                    "Unit": unit,
                }
            )

    cw_calls = 0

    def flush(namespace: str) -> None:
        nonlocal data, cw_calls
        for part in chunks(data, 500):
            cw.put_metric_data(Namespace=namespace, MetricData=part)
            cw_calls += 1
        data = []

    prod_instances = ["bastion"] + [n for n, _ in backends]
    for name in prod_instances:
        base = 8.0 if name == "bastion" else rng.uniform(20, 45)
        put("CPUUtilization", [("InstanceId", ids[name])], "Percent",
            [round(max(0.5, base + rng.uniform(-5, 5)), 2) for _ in stamps])
    flush("AWS/EC2")
    for az in (AZ_A, AZ_C):
        reqs = [rng.randint(900, 1300) for _ in stamps]
        errs = [rng.randint(0, 3) if az == AZ_A else rng.randint(5, 40) for _ in stamps]
        for metric, vals in (("RequestCount", reqs), ("HTTPCode_Target_5XX_Count", errs)):
            # moto's GetMetricData matches a multi-dimension query only in the order it
            # stored (README): seed both orders unless told otherwise.
            if args.alb_dim_order in ("both", "lb-az"):
                put(metric, [("LoadBalancer", alb_dim), ("AvailabilityZone", az)], "Count", vals)
            if args.alb_dim_order in ("both", "az-lb"):
                put(metric, [("AvailabilityZone", az), ("LoadBalancer", alb_dim)], "Count", vals)
    flush("AWS/ApplicationELB")
    put("ReplicaLag", [("DBInstanceIdentifier", "prod-db-replica")], "Seconds",
        [round(rng.uniform(0.0, 2.0), 2) for _ in stamps])
    flush("AWS/RDS")
    put("ReplicationLag", [("CacheClusterId", redis_replica)], "Seconds",
        [round(rng.uniform(0.0, 0.5), 3) for _ in stamps])
    flush("AWS/ElastiCache")
    log(f"CloudWatch: 15 points/metric from {stamps[0]:%H:%M} to {stamps[-1]:%H:%M} UTC "
        f"({cw_calls} PutMetricData calls)")

    # --- CloudWatch alarms (moto does not evaluate alarms: states are set) -----------
    def alarm(name: str, ns: str, metric: str, dims: list[tuple[str, str]], threshold: float,
              state: str, reason: str) -> None:
        cw.put_metric_alarm(
            AlarmName=name,
            Namespace=ns,
            MetricName=metric,
            Dimensions=[{"Name": k, "Value": v} for k, v in dims],
            Statistic="Sum" if ns == "AWS/ApplicationELB" else "Average",
            Period=60,
            EvaluationPeriods=3,
            Threshold=threshold,
            ComparisonOperator="GreaterThanThreshold",
        )
        cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)

    alarm("prod-5xx-high", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count",
          [("LoadBalancer", alb_dim)], 20, "ALARM", "Threshold Crossed: 3 datapoints > 20")
    alarm("prod-cpu", "AWS/EC2", "CPUUtilization", [("InstanceId", ids[backends[0][0]])], 80,
          "OK", "Threshold not crossed")
    alarm("staging-x", "AWS/EC2", "CPUUtilization", [("InstanceId", ids["staging"])], 50,
          "ALARM", "staging alarm (must be filtered out by prefix prod-)")
    log("CloudWatch alarms: prod-5xx-high ALARM, prod-cpu OK, staging-x ALARM")

    # --- CloudWatch Logs ---------------------------------------------------------------
    group = "/prod/web/app"
    logs.create_log_group(logGroupName=group)
    id_stream_of = backends[-1][0]  # one stream named by an instance id (the last backend's)
    streams = [n for n, _ in backends] + [ids[id_stream_of]]
    # The last three minutes, 25 s apart: opsdeck's first FilterLogEvents poll looks back
    # 10 minutes (log_cursor.rs FIRST_LOOK_BACK_MS), so every line is in its window.
    base_ms = int((now - dt.timedelta(minutes=3)).timestamp() * 1000)
    for s in streams:
        logs.create_log_stream(logGroupName=group, logStreamName=s)
        host = s
        lines = [
            f"INFO {host} started release v42 on port 8080",
            f"INFO {host} GET /health 200 3ms",
            f"WARN {host} slow upstream db response 850ms",
            f"INFO {host} GET /api/orders 200 41ms",
            f"ERROR {host} GET /api/checkout 502 upstream connect error",
            f"INFO {host} GET /health 200 2ms",
        ]
        if s == backends[0][0]:
            lines.insert(5, "ERROR hostile input: \x1b]0;pwned\x07 title set, \x1b[2J screen "
                            "cleared, \x1b[31mred\x1b[0m, bell \x07 end")
        events = [{"timestamp": base_ms + i * 25_000 + 1000, "message": m} for i, m in enumerate(lines)]
        logs.put_log_events(logGroupName=group, logStreamName=s, logEvents=events)
    log(f"Logs: {group} with {len(streams)} streams (stream {ids[id_stream_of]} = {id_stream_of}'s id; "
        f"hostile escape-sequence line in {backends[0][0]})")

    # --- Outputs ------------------------------------------------------------------------
    RUN.mkdir(parents=True, exist_ok=True)
    toml = RUN / "opsdeck.toml"
    toml_text = f"""\
# opsdeck configuration for the AWS test lab (moto). Generated by tests/aws/seed.py.
default_environment = "prod"
[environments.prod]
provider = "aws"
region = "{REGION}"
azs = ["{AZ_A}", "{AZ_C}"]
[environments.prod.aws]
endpoint_url = "{url}"
max_attempts = 2
[environments.prod.aws.instances]
tags = {{ Environment = "prod" }}
name_tag = "Name"
role_tag = "Role"
[environments.prod.aws.alb]
target_groups = ["prod-web"]
[environments.prod.aws.rds]
instances = ["prod-db", "prod-db-replica"]
[environments.prod.aws.elasticache]
replication_groups = ["prod-redis"]
[environments.prod.aws.alarms]
prefix = "prod-"
[environments.prod.aws.logs]
groups = ["{group}"]
"""
    toml.write_text(toml_text)

    env = {
        "MOTO_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "OPSDECK_AWS_CONFIG": str(toml),
        "AWS_LAB_BACKENDS": " ".join(n for n, _ in backends),
        "AWS_LAB_VPC_ID": vpc_id,
        "AWS_LAB_SUBNET_A": subnets[AZ_A],
        "AWS_LAB_SUBNET_C": subnets[AZ_C],
    }
    for name, iid in ids.items():
        env[f"INSTANCE_ID_{env_key(name)}"] = iid
    for name, ip in ips.items():
        env[f"PRIVATE_IP_{env_key(name)}"] = ip
    env.update(
        {
            "ALB_ARN": alb_arn,
            "ALB_DIMENSION": alb_dim,
            "TARGET_GROUP_ARN": tg_arn,
            "LISTENER_ARN": listener_arn,
            "DEREG_DELAY_SECONDS": str(args.dereg_delay),
            "RDS_PRIMARY": "prod-db",
            "RDS_REPLICA": "prod-db-replica",
            "REDIS_PRIMARY_CLUSTER_ID": redis_primary,
            "REDIS_REPLICA_CLUSTER_ID": redis_replica,
            "LOG_GROUP": group,
            "LOG_STREAM_BY_ID": ids[id_stream_of],
        }
    )
    lines = [f"# Generated by tests/aws/seed.py at {dt.datetime.now().isoformat(timespec='seconds')}.",
             "# Load with: set -a; . tests/aws/run/aws.env; set +a"]
    lines += [f"{k}={v}" if " " not in v else f"{k}='{v}'" for k, v in env.items()]
    (RUN / "aws.env").write_text("\n".join(lines) + "\n")

    # --- Summary --------------------------------------------------------------------------
    print()
    print(f"AWS lab seeded at {url} (region {REGION}) in {time.monotonic() - t0:.1f} s")
    print(f"  instances  {'bastion':<10} {ids['bastion']}  {ips['bastion']:<10} {AZ_A}")
    for name, az in backends[:8]:
        print(f"  instances  {name:<10} {ids[name]}  {ips[name]:<10} {az}")
    if len(backends) > 8:
        print(f"  instances  ... {len(backends) - 8} more backends")
    print(f"  decoys     untagged {ids['decoy']}, staging {ids['staging']}")
    print(f"  alb        {alb_arn}")
    print(f"  tg         {tg_arn} (delay {args.dereg_delay}s)")
    print(f"  rds        prod-db ({AZ_A}) -> prod-db-replica ({AZ_C})")
    print(f"  redis      prod-redis: primary {redis_primary}, replica {redis_replica}")
    print("  alarms     prod-5xx-high ALARM, prod-cpu OK, staging-x ALARM")
    print(f"  logs       {group}: {len(streams)} streams")
    print(f"  config     {toml}")
    print(f"  env        {RUN / 'aws.env'}")


if __name__ == "__main__":
    main()
