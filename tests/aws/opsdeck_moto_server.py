#!/usr/bin/env python3
"""opsdeck's moto test server: moto_server 5.2.5 plus a few documented patches.

moto answers most of the AWS calls opsdeck makes, but a few *state transitions* that
matter for operations are missing in moto 5.2.5. This module patches exactly those,
in the way the AWS API reference documents them, and then starts moto's own server
(``moto.server.main``, what the ``moto_server`` command runs) with the same options:

    python tests/aws/opsdeck_moto_server.py -H 127.0.0.1 -p 5000

Patches (each function below documents what AWS does and what moto does):

  elbv2_draining          DeregisterTargets leaves a target ``draining`` for the target
                          group's ``deregistration_delay.timeout_seconds``.
  rds_promote             PromoteReadReplica makes the replica a standalone instance.
  elasticache_failover    ModifyReplicationGroup(PrimaryClusterId=...) and TestFailover
                          swap the primary and replica roles.

Everything else is moto unchanged. At import, every moto attribute or method a patch
touches is checked to exist (``_require``), so a moto upgrade that renames or drops one
fails loudly at start-up instead of quietly serving moto's old behaviour. The patches
are pinned to the moto version in tests/aws/requirements.txt; a different version is
reported on stderr (the checks above decide whether it still starts).

tests/aws/check_patches.py verifies every patch with boto3 against this server.
"""

from __future__ import annotations

import inspect
import sys
import threading
import time
from collections import OrderedDict
from importlib import metadata
from typing import Any

PINNED_MOTO = "5.2.5"

PATCHES: list[str] = []
_applied = False
_lock = threading.RLock()


class MotoChanged(RuntimeError):
    """moto no longer has something a patch relies on: review the patch."""


def _require(owner: Any, name: str) -> Any:
    """Return owner.name; fail loudly if moto no longer has it."""
    if not hasattr(owner, name):
        raise MotoChanged(
            f"opsdeck_moto_server: moto {_moto_version()} has no "
            f"{getattr(owner, '__name__', owner)!s}.{name}; the patch that uses it must be "
            f"reviewed (written against moto {PINNED_MOTO})"
        )
    return getattr(owner, name)


def _require_init_attr(cls: type, attr: str) -> None:
    """Fail loudly unless cls.__init__ still assigns self.<attr>."""
    src = inspect.getsource(cls.__init__)
    if f"self.{attr}" not in src:
        raise MotoChanged(
            f"opsdeck_moto_server: {cls.__name__}.__init__ no longer sets self.{attr} "
            f"(moto {_moto_version()}); review the patch (written against moto {PINNED_MOTO})"
        )


def _moto_version() -> str:
    try:
        return metadata.version("moto")
    except metadata.PackageNotFoundError:
        return "?"


# ------------------------------------------------------------------------------------
# (a) ELBv2: a deregistered target drains for the deregistration delay
# ------------------------------------------------------------------------------------
def patch_elbv2_draining() -> None:
    """ELBv2 DeregisterTargets: the target drains before it is gone.

    AWS (Elastic Load Balancing API Reference, ``DeregisterTargets``; User Guide for
    Application Load Balancers, "Deregistration delay"): a deregistered target enters
    the ``draining`` state (TargetHealth reason ``Target.DeregistrationInProgress``)
    and stays there for the target group's ``deregistration_delay.timeout_seconds``
    attribute (default 300 s, 0-3600). ``DescribeTargetHealth`` without targets still
    lists it while it drains. Afterwards it is no longer registered: asked for by id,
    ``DescribeTargetHealth`` reports ``unused`` / ``Target.NotRegistered``. A delay of
    0 removes it at once. Registering it again while it drains cancels the draining.

    moto 5.2.5: ``FakeTargetGroup.deregister`` moves the target straight to
    ``deregistered_targets`` (reported ``unused`` / ``Target.NotRegistered``), so there
    is no draining window at all, and deregistering it again raises InvalidTarget.

    Patch: deregister() keeps the target in a per-group ``_opsdeck_draining`` table
    with a deadline (now + the delay read at deregistration time, as AWS does);
    health_for() reports it ``draining`` until the deadline and then moves it to moto's
    ``deregistered_targets``; DescribeTargetHealth without targets includes draining
    targets; register() cancels draining; deregistering a draining target again is a
    no-op (the countdown keeps running). Deadlines are wall-clock: use a small delay
    (e.g. ``--dereg-delay 2`` in seed.py) to watch a target finish draining.
    """
    from moto.elbv2 import models as m

    tg_cls = _require(m, "FakeTargetGroup")
    backend_cls = _require(m, "ELBv2Backend")
    health_cls = _require(m, "FakeHealthStatus")
    invalid_target = _require(m, "InvalidTargetError")
    orig_register = _require(tg_cls, "register")
    _require(tg_cls, "deregister")
    orig_health_for = _require(tg_cls, "health_for")
    orig_describe = _require(backend_cls, "describe_target_health")
    _require(backend_cls, "deregister_targets")
    for attr in ("targets", "deregistered_targets", "attributes", "health_check_port"):
        _require_init_attr(tg_cls, attr)
    _require_init_attr(backend_cls, "target_groups")

    def draining_table(tg: Any) -> OrderedDict:
        """The group's draining targets {id: (target, deadline)}, expired ones removed."""
        table = tg.__dict__.setdefault("_opsdeck_draining", OrderedDict())
        now = time.time()
        for tid, (target, deadline) in list(table.items()):
            if now >= deadline:
                del table[tid]
                tg.deregistered_targets[tid] = target
        return table

    def register(self: Any, targets: list[dict[str, Any]]) -> None:
        with _lock:
            orig_register(self, targets)
            table = draining_table(self)
            for target in targets:
                table.pop(target["Id"], None)

    def deregister(self: Any, targets: list[dict[str, Any]]) -> None:
        with _lock:
            table = draining_table(self)
            delay = int(self.attributes.get("deregistration_delay.timeout_seconds", 300))
            for target in targets:
                tid = target["Id"]
                if tid not in self.targets and tid in table:
                    continue  # already draining: AWS keeps the running countdown
                registered = self.targets.pop(tid, None)
                if not registered:
                    raise invalid_target()
                if delay > 0:
                    table[tid] = (registered, time.time() + delay)
                else:
                    self.deregistered_targets[tid] = registered

    def health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        with _lock:
            table = draining_table(self)
            tid = target["Id"]
            if tid not in self.targets and tid in table:
                registered, _deadline = table[tid]
                return health_cls(
                    tid,
                    target.get("Port", registered["Port"]),
                    self.health_check_port,
                    "draining",
                    "Target.DeregistrationInProgress",
                    "Target deregistration is in progress",
                )
        return orig_health_for(self, target, ec2_backend)

    def describe_target_health(
        self: Any, target_group_arn: str, targets: list[dict[str, Any]]
    ) -> Any:
        tg = self.target_groups.get(target_group_arn)
        if tg is not None and not targets:
            with _lock:
                table = draining_table(tg)
                targets = list(tg.targets.values()) + [t for t, _ in table.values()]
        return orig_describe(self, target_group_arn, targets)

    tg_cls.register = register
    tg_cls.deregister = deregister
    tg_cls.health_for = health_for
    backend_cls.describe_target_health = describe_target_health
    PATCHES.append("elbv2_draining")


# ------------------------------------------------------------------------------------
# (b) RDS: a promoted read replica is a standalone instance
# ------------------------------------------------------------------------------------
def patch_rds_promote() -> None:
    """RDS PromoteReadReplica: the replica becomes a standalone DB instance.

    AWS (Amazon RDS API Reference, ``PromoteReadReplica``; User Guide, "Promoting a
    read replica to be a standalone DB instance"): the read replica stops replicating
    and becomes a standalone instance. Afterwards DescribeDBInstances shows no
    ``ReadReplicaSourceDBInstanceIdentifier`` on it, and the former source no longer
    lists it in ``ReadReplicaDBInstanceIdentifiers``. Promoting an instance that is not
    a read replica fails with ``InvalidDBInstanceState``. AWS also takes minutes:
    the instance is ``modifying`` (then rebooting) while it is promoted, and shows as
    a standalone ``available`` instance only at the end.

    That duration is modelled on request only: a replica tagged
    ``opsdeck-test:promote-seconds=N`` (tests/aws/seed.py ``--rds-promote-seconds N``)
    answers ``modifying``, still a replica of its source, for N seconds after the
    call, then is promoted as above. Untagged, the promotion is immediate.

    moto 5.2.5: ``RDSBackend.promote_read_replica`` only clears ``is_replica``; the
    replica still names its source and the source still lists the replica. Promoting a
    non-replica silently succeeds.

    Patch: check it is a replica (else InvalidDBInstanceState), run moto's promotion,
    then clear ``source_db_instance_identifier`` and remove the replica (by identifier,
    or by ARN for a cross-region one) from the source's ``replicas``.
    """
    from moto.rds import exceptions as e
    from moto.rds import models as m

    backend_cls = _require(m, "RDSBackend")
    db_cls = _require(m, "DBInstance")
    orig_promote = _require(backend_cls, "promote_read_replica")
    _require(backend_cls, "find_db_from_id")
    _require(db_cls, "read_replica_source_db_instance_identifier")
    _require(db_cls, "read_replica_db_instance_identifiers")
    for attr in ("is_replica", "replicas", "source_db_instance_identifier", "status", "tags"):
        _require_init_attr(db_cls, attr)
    _require_init_attr(backend_cls, "databases")
    not_found = _require(e, "DBInstanceNotFoundError")
    client_error = _require(e, "RDSClientError")

    def promote_read_replica(self: Any, db_kwargs: dict[str, Any]) -> Any:
        database_id = db_kwargs["db_instance_identifier"]
        with _lock:
            database = self.databases.get(database_id)
            if database is None:
                raise not_found(database_id)
            if not database.is_replica:
                raise client_error("InvalidDBInstanceState", "DB Instance is not a read replica.")
            if database.status != "available":
                raise client_error(
                    "InvalidDBInstanceState", f"DB Instance is {database.status}, not available."
                )
            seconds = _promote_seconds(database)
            if seconds <= 0:
                return finish(self, database, db_kwargs)
            database.status = "modifying"

            def later() -> None:
                with _lock:
                    finish(self, database, db_kwargs)
                    database.status = "available"

            timer = threading.Timer(seconds, later)
            timer.daemon = True
            timer.start()
            return database

    def _promote_seconds(database: Any) -> float:
        for tag in getattr(database, "tags", None) or []:
            if tag.get("Key") == "opsdeck-test:promote-seconds":
                try:
                    return float(tag.get("Value", "0"))
                except ValueError:
                    return 0.0
        return 0.0

    def finish(self: Any, database: Any, db_kwargs: dict[str, Any]) -> Any:
        with _lock:
            source_id = database.source_db_instance_identifier
            result = orig_promote(self, db_kwargs)
            if source_id:
                try:
                    source = self.find_db_from_id(source_id)
                except not_found:
                    source = None
                if source is not None:
                    for ref in (database.db_instance_identifier, database.db_instance_arn):
                        if ref in source.replicas:
                            source.replicas.remove(ref)
            database.source_db_instance_identifier = None
            return result

    backend_cls.promote_read_replica = promote_read_replica
    PATCHES.append("rds_promote")


# ------------------------------------------------------------------------------------
# (c) ElastiCache: primary change and test failover in a replication group
# ------------------------------------------------------------------------------------
def _swap_primary(rg: Any, node_group: dict[str, Any], new_primary_id: str) -> None:
    """Give new_primary_id the primary role in node_group; every other member replica."""
    members = node_group["node_group_members"]
    for member in members:
        member["current_role"] = (
            "primary" if member["cache_cluster_id"] == new_primary_id else "replica"
        )
    rg.primary_cluster_id = new_primary_id


def patch_elasticache_failover() -> None:
    """ElastiCache ModifyReplicationGroup(PrimaryClusterId) and TestFailover.

    AWS (Amazon ElastiCache API Reference):
    - ``ModifyReplicationGroup`` with ``PrimaryClusterId``: "For replication groups
      with a single primary, if this parameter is specified, ElastiCache promotes the
      specified cluster in the specified replication group to the primary role. The
      nodes of all other clusters in the replication group are read replicas."
      DescribeReplicationGroups then shows ``CurrentRole`` ``primary`` on that member of
      ``NodeGroups[].NodeGroupMembers`` and ``replica`` on the others; each member keeps
      its ``PreferredAvailabilityZone`` (the primary moves to the replica's AZ).
    - ``TestFailover`` (ReplicationGroupId, NodeGroupId): tests automatic failover on
      one node group: a replica of that node group is promoted to primary and the old
      primary becomes a replica. Errors include ``ReplicationGroupNotFoundFault`` and
      ``NodeGroupNotFoundFault``. (AWS does it asynchronously over minutes, with events;
      here the swap is immediate and the status stays ``available``.)

    moto 5.2.5: ModifyReplicationGroup exists but ignores ``PrimaryClusterId``; there is
    no TestFailover (moto answers that the action is not implemented).

    Patch: ElastiCacheResponse.modify_replication_group swaps the roles when
    PrimaryClusterId is given (InvalidParameterValue if it is not a member; only for
    cluster mode disabled, whose members carry ``current_role``) and then runs moto's
    own modification; a new ElastiCacheResponse.test_failover promotes the first
    replica of the node group (moto dispatches any method of the response class).
    """
    from moto.core.responses import ActionResult
    from moto.elasticache import exceptions as e
    from moto.elasticache import models as m
    from moto.elasticache import responses as r

    resp_cls = _require(r, "ElastiCacheResponse")
    _require(resp_cls, "elasticache_backend")
    _require(resp_cls, "_get_param")
    orig_modify = _require(resp_cls, "modify_replication_group")
    if hasattr(resp_cls, "test_failover"):
        raise MotoChanged(
            "opsdeck_moto_server: moto now implements ElastiCache TestFailover; "
            "drop or review the patch"
        )
    backend_cls = _require(m, "ElastiCacheBackend")
    _require_init_attr(backend_cls, "replication_groups")
    rg_cls = _require(m, "ReplicationGroup")
    for attr in ("node_groups", "primary_cluster_id", "cluster_mode"):
        _require_init_attr(rg_cls, attr)
    # The members of a cluster-mode-disabled group carry current_role.
    if '"current_role"' not in inspect.getsource(
        _require(rg_cls, "_set_node_members_clusters_disabled")
    ):
        raise MotoChanged("opsdeck_moto_server: moto's node group members lost current_role")
    rg_not_found = _require(e, "ReplicationGroupNotFound")
    invalid_value = _require(e, "InvalidParameterValueException")
    invalid_combination = _require(e, "InvalidParameterCombinationException")
    base_error = _require(e, "ElastiCacheException")

    class ElastiCacheError(base_error):  # type: ignore[misc,valid-type]
        """An error with any code of the ElastiCache model. (moto looks the code up in
        the model of the service named by the exception's module: a bare
        moto.core ServiceException would name the non-service 'core'; a class outside
        moto falls back to the model of the service being called.)"""

        def __init__(self, code: str, message: str):
            super().__init__(code, message)

    def find_group(backend: Any, rg_id: str) -> Any:
        rg = backend.replication_groups.get(rg_id)
        if rg is None:
            raise rg_not_found(rg_id)
        if rg.cluster_mode == "enabled":
            raise invalid_combination(
                "opsdeck test server: primary changes are modelled for cluster mode "
                "disabled only"
            )
        return rg

    def modify_replication_group(self: Any) -> Any:
        primary_id = self._get_param("PrimaryClusterId")
        if primary_id:
            rg_id = self._get_param("ReplicationGroupId")
            with _lock:
                rg = find_group(self.elasticache_backend, rg_id)
                for node_group in rg.node_groups:
                    ids = [mb["cache_cluster_id"] for mb in node_group["node_group_members"]]
                    if primary_id in ids:
                        _swap_primary(rg, node_group, primary_id)
                        break
                else:
                    raise invalid_value(
                        f"Cluster {primary_id} is not a member of replication group {rg_id}."
                    )
        return orig_modify(self)

    def test_failover(self: Any) -> Any:
        rg_id = self._get_param("ReplicationGroupId")
        node_group_id = self._get_param("NodeGroupId")
        with _lock:
            rg = find_group(self.elasticache_backend, rg_id)
            node_group = next(
                (g for g in rg.node_groups if g["node_group_id"] == node_group_id), None
            )
            if node_group is None:
                raise ElastiCacheError(
                    "NodeGroupNotFoundFault",
                    f"Node group {node_group_id} not found in replication group {rg_id}.",
                )
            replica = next(
                (
                    mb
                    for mb in node_group["node_group_members"]
                    if mb.get("current_role") == "replica"
                ),
                None,
            )
            if replica is None:
                raise ElastiCacheError(
                    "TestFailoverNotAvailableFault",
                    f"Node group {node_group_id} has no replica to fail over to.",
                )
            _swap_primary(rg, node_group, replica["cache_cluster_id"])
            return ActionResult({"ReplicationGroup": rg})

    resp_cls.modify_replication_group = modify_replication_group
    resp_cls.test_failover = test_failover
    PATCHES.append("elasticache_failover")


def apply_patches() -> list[str]:
    """Apply every patch once (idempotent); return their names."""
    global _applied
    with _lock:
        if not _applied:
            version = _moto_version()
            if version != PINNED_MOTO:
                print(
                    f"opsdeck_moto_server: WARNING: moto {version}, patches were written "
                    f"for {PINNED_MOTO}",
                    file=sys.stderr,
                )
            patch_elbv2_draining()
            patch_rds_promote()
            patch_elasticache_failover()
            _applied = True
    return list(PATCHES)


def main(argv: list[str] | None = None) -> None:
    """Apply the patches, then run moto's server with moto_server's options."""
    names = apply_patches()
    print(
        f"opsdeck_moto_server: moto {_moto_version()} with patches: {', '.join(names)}",
        file=sys.stderr,
        flush=True,
    )
    from moto import server

    server.main(argv)


# Checked at import: a moto that lacks something a patch needs fails here, loudly.
apply_patches()

if __name__ == "__main__":
    main()
