"""The ECS API server driven by boto3 and the aws CLI, unchanged.

Run by `tests/api_clients.rs`, which serves the API and sets ECS_ENDPOINT, ECS_AWS_CLI
and the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION).
Every test works in clusters of its own, so that the tests do not see each other.
"""

import json
import os
import subprocess
import time
import unittest
import urllib.error
import urllib.request
import uuid

import boto3
import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ENDPOINT = os.environ["ECS_ENDPOINT"]
AWS = os.environ["ECS_AWS_CLI"]
REGION = os.environ["AWS_DEFAULT_REGION"]
ACCOUNT = "123456789012"
TARGET = "AmazonEC2ContainerServiceV20141113"
# Retries would hide an error's first answer and slow the suite down.
CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"})
FAST_WAIT = {"Delay": 1, "MaxAttempts": 60}


def ecs(config=CONFIG, **kwargs):
    return boto3.client("ecs", endpoint_url=ENDPOINT, region_name=REGION, config=config, **kwargs)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def web_definition(family, memory=64, health_check=True):
    definition = {
        "family": family,
        "containerDefinitions": [
            {
                "name": "web",
                "image": "busybox",
                "memory": memory,
                "cpu": 128,
                "essential": True,
                "command": ["httpd", "-f"],
                # busybox as PID 1 ignores SIGTERM: a stop waits for this, then kills.
                "stopTimeout": 2,
                "portMappings": [{"containerPort": 80, "hostPort": 0}],
            }
        ],
    }
    if health_check:
        # Without one, ECS counts a task healthy 40 seconds after it runs.
        definition["containerDefinitions"][0]["healthCheck"] = {
            "command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/"], "interval": 5
        }
    return definition


def wait_until(what, check, timeout=60):
    """Polls `check` until it returns something true, within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.2)


def wait_stable(client, cluster, service):
    """boto3's own `services_stable` waiter; on failure, says what the service looked like."""
    try:
        client.get_waiter("services_stable").wait(cluster=cluster, services=[service], WaiterConfig=FAST_WAIT)
    except botocore.exceptions.WaiterError:
        described = client.describe_services(cluster=cluster, services=[service])["services"]
        tasks = client.list_tasks(cluster=cluster)["taskArns"]
        tasks = client.describe_tasks(cluster=cluster, tasks=tasks)["tasks"] if tasks else []
        raise AssertionError(f"{service} did not become stable: {described} {tasks}")


def error_code(call, *args, **kwargs):
    """Calls and returns the error's code; fails if the call succeeds."""
    try:
        call(*args, **kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"]["Message"], e.response[
            "ResponseMetadata"
        ]["HTTPStatusCode"]
    raise AssertionError(f"{call} succeeded")


def raw(operation, body, sign=True, secret=None):
    """Sends `body` (bytes) as `operation` with a SigV4 signature made by botocore."""
    request = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"{TARGET}.{operation}",
        },
    )
    if sign:
        creds = Credentials(
            os.environ["AWS_ACCESS_KEY_ID"], secret or os.environ["AWS_SECRET_ACCESS_KEY"]
        )
        SigV4Auth(creds, "ecs", REGION).add_auth(request)
    prepared = request.prepare()
    req = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def cluster_with_instances(client, count=1, cpu=2048, memory=4096):
    name = unique("c")
    client.create_cluster(clusterName=name)
    arns = []
    for _ in range(count):
        out = client.register_container_instance(
            cluster=name,
            totalResources=[
                {"name": "CPU", "type": "INTEGER", "integerValue": cpu},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
            ],
        )
        arns.append(out["containerInstance"]["containerInstanceArn"])
    return name, arns


class Authentication(unittest.TestCase):
    def test_signed_requests_are_served(self):
        self.assertIn("clusterArns", ecs().list_clusters())

    def test_a_wrong_secret_is_refused(self):
        client = ecs(aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key="wrong")
        code, _, status = error_code(client.list_clusters)
        self.assertEqual((code, status), ("InvalidSignatureException", 403))

    def test_an_unknown_key_is_refused(self):
        client = ecs(aws_access_key_id="AKIDUNKNOWN", aws_secret_access_key="whatever")
        code, _, status = error_code(client.list_clusters)
        self.assertEqual((code, status), ("UnrecognizedClientException", 403))

    def test_an_unsigned_request_is_refused(self):
        client = ecs(config=CONFIG.merge(Config(signature_version=botocore.UNSIGNED)))
        code, _, status = error_code(client.list_clusters)
        self.assertIn(code, ("MissingAuthenticationTokenException", "IncompleteSignatureException"))
        self.assertIn(status, (400, 403))

    def test_a_body_changed_after_signing_is_refused(self):
        request = AWSRequest(
            method="POST",
            url=ENDPOINT + "/",
            data=b'{"clusterName": "signed"}',
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{TARGET}.CreateCluster"},
        )
        creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
        SigV4Auth(creds, "ecs", REGION).add_auth(request)
        prepared = request.prepare()
        tampered = b'{"clusterName": "forged"}'
        headers = dict(prepared.headers)
        headers["Content-Length"] = str(len(tampered))
        req = urllib.request.Request(prepared.url, data=tampered, headers=headers, method="POST")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, timeout=30)
        self.assertEqual(cm.exception.code, 403)
        self.assertEqual(json.loads(cm.exception.read())["__type"], "InvalidSignatureException")
        names = [a.split("/")[-1] for a in ecs().list_clusters()["clusterArns"]]
        self.assertNotIn("forged", names)


class BadBodies(unittest.TestCase):
    def test_text_that_is_not_json(self):
        status, body = raw("ListClusters", b"{not json")
        self.assertEqual((status, body["__type"]), (400, "SerializationException"))

    def test_a_member_of_the_wrong_type_is_named(self):
        status, body = raw("ListClusters", b'{"maxResults": "ten"}')
        self.assertEqual((status, body["__type"]), (400, "InvalidParameterException"))
        self.assertIn("maxResults", body["message"])

    def test_deep_nesting(self):
        body = b'{"clusters": ' + b"[" * 10000 + b"]" * 10000 + b"}"
        status, answer = raw("DescribeClusters", body)
        self.assertEqual((status, answer["__type"]), (400, "InvalidParameterException"))

    def test_a_huge_body(self):
        body = b'{"clusterName": "' + b"a" * (2 << 20) + b'"}'
        status, answer = raw("CreateCluster", body)
        self.assertEqual((status, answer["__type"]), (400, "InvalidParameterException"))

    def test_an_unknown_operation(self):
        status, body = raw("FlyToTheMoon", b"{}")
        self.assertEqual((status, body["__type"]), (400, "UnknownOperationException"))

    def test_an_operation_that_makes_no_sense_here(self):
        # Task sets belong to EXTERNAL deployment controllers, which this server has not.
        code, message, status = error_code(
            ecs().create_task_set, cluster="c", service="s", taskDefinition="td",
        )
        self.assertEqual((code, status), ("UnsupportedFeatureException", 400))
        self.assertIn("CreateTaskSet", message)


class Clusters(unittest.TestCase):
    def test_create_is_idempotent_and_describe_reports_missing_ones(self):
        client = ecs()
        name = unique("c")
        first = client.create_cluster(clusterName=name)["cluster"]
        again = client.create_cluster(clusterName=name)["cluster"]
        self.assertEqual(first["clusterArn"], f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{name}")
        self.assertEqual(first["clusterArn"], again["clusterArn"])
        self.assertEqual(first["status"], "ACTIVE")
        out = client.describe_clusters(clusters=[name, first["clusterArn"], "nope-" + name])
        self.assertEqual([c["clusterName"] for c in out["clusters"]], [name])
        self.assertEqual(out["failures"], [
            {"arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/nope-{name}", "reason": "MISSING"}
        ])

    def test_list_pages_through_every_cluster(self):
        client = ecs()
        names = [unique("page") for _ in range(5)]
        for n in names:
            client.create_cluster(clusterName=n)
        first = client.list_clusters(maxResults=2)
        self.assertEqual(len(first["clusterArns"]), 2)
        self.assertIn("nextToken", first)
        arns = []
        for page in client.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 2}):
            self.assertLessEqual(len(page["clusterArns"]), 2)
            arns.extend(page["clusterArns"])
        self.assertEqual(len(arns), len(set(arns)))
        for n in names:
            self.assertIn(f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{n}", arns)
        code, _, _ = error_code(client.list_clusters, nextToken="not-a-token")
        self.assertEqual(code, "InvalidParameterException")


class TaskDefinitions(unittest.TestCase):
    def test_register_describe_list_and_deregister(self):
        client = ecs()
        family = unique("td")
        for memory in (64, 96, 128):
            out = client.register_task_definition(**web_definition(family, memory))
        td = out["taskDefinition"]
        self.assertEqual(td["revision"], 3)
        self.assertEqual(td["status"], "ACTIVE")
        self.assertEqual(td["taskDefinitionArn"], f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:3")
        # Timestamps come back as the protocol's: boto3 reads them as datetimes.
        self.assertEqual(td["registeredAt"].year >= 2024, True)
        described = client.describe_task_definition(taskDefinition=f"{family}:2")["taskDefinition"]
        self.assertEqual(described["containerDefinitions"][0]["memory"], 96)
        latest = client.describe_task_definition(taskDefinition=family)["taskDefinition"]
        self.assertEqual(latest["revision"], 3)

        client.deregister_task_definition(taskDefinition=f"{family}:3")
        self.assertEqual(client.describe_task_definition(taskDefinition=family)["taskDefinition"]["revision"], 2)
        active = client.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]
        self.assertEqual([a.rsplit(":", 1)[1] for a in active], ["1", "2"])
        inactive = client.list_task_definitions(familyPrefix=family, status="INACTIVE")["taskDefinitionArns"]
        self.assertEqual([a.rsplit(":", 1)[1] for a in inactive], ["3"])
        newest_first = client.list_task_definitions(familyPrefix=family, sort="DESC", maxResults=1)
        self.assertTrue(newest_first["taskDefinitionArns"][0].endswith(f"{family}:2"))
        rest = client.list_task_definitions(familyPrefix=family, sort="DESC", nextToken=newest_first["nextToken"])
        self.assertEqual(len(rest["taskDefinitionArns"]), 1)
        self.assertTrue(rest["taskDefinitionArns"][0].endswith(f"{family}:1"))

        families = client.list_task_definition_families(familyPrefix=family[:6], status="ALL")["families"]
        self.assertIn(family, families)
        # The default is ALL; INACTIVE is a family without an ACTIVE revision.
        self.assertIn(family, client.list_task_definition_families(familyPrefix=family)["families"])
        self.assertNotIn(family, client.list_task_definition_families(familyPrefix=family, status="INACTIVE")["families"])
        for revision in (1, 2):
            client.deregister_task_definition(taskDefinition=f"{family}:{revision}")
        self.assertEqual(client.list_task_definition_families(familyPrefix=family, status="INACTIVE")["families"], [family])
        self.assertEqual(client.list_task_definition_families(familyPrefix=family, status="ACTIVE")["families"], [])

    def test_revisions_sort_by_number(self):
        client = ecs()
        family = unique("many")
        for _ in range(11):
            client.register_task_definition(**web_definition(family))
        arns = []
        for page in client.get_paginator("list_task_definitions").paginate(
            familyPrefix=family, PaginationConfig={"PageSize": 4}
        ):
            arns.extend(page["taskDefinitionArns"])
        self.assertEqual([int(a.rsplit(":", 1)[1]) for a in arns], list(range(1, 12)))

    def test_an_invalid_definition_names_the_problem(self):
        client = ecs()
        bad = web_definition(unique("bad"))
        bad["containerDefinitions"][0]["links"] = ["db"]
        code, message, status = error_code(client.register_task_definition, **bad)
        self.assertEqual(status, 400)
        self.assertIn("links", message)
        code, _, _ = error_code(client.describe_task_definition, taskDefinition=unique("none") + ":1")
        self.assertEqual(code, "ClientException")


class ContainerInstances(unittest.TestCase):
    def test_register_describe_list_drain_and_deregister(self):
        client = ecs()
        name, arns = cluster_with_instances(client, count=3, cpu=1024, memory=2048)
        out = client.describe_container_instances(cluster=name, containerInstances=arns + ["i-0000"])
        self.assertEqual(len(out["containerInstances"]), 3)
        self.assertEqual(out["failures"], [{"arn": "i-0000", "reason": "MISSING"}])
        instance = out["containerInstances"][0]
        cpu = {r["name"]: r["integerValue"] for r in instance["registeredResources"]}
        self.assertEqual((cpu["CPU"], cpu["MEMORY"]), (1024, 2048))
        self.assertTrue(instance["agentConnected"])
        self.assertEqual(instance["status"], "ACTIVE")

        listed = client.list_container_instances(cluster=name, maxResults=2)
        self.assertEqual(len(listed["containerInstanceArns"]), 2)
        rest = client.list_container_instances(cluster=name, nextToken=listed["nextToken"])
        self.assertEqual(sorted(listed["containerInstanceArns"] + rest["containerInstanceArns"]), sorted(arns))

        drained = client.update_container_instances_state(cluster=name, containerInstances=[arns[0]], status="DRAINING")
        self.assertEqual(drained["containerInstances"][0]["status"], "DRAINING")
        self.assertEqual(client.list_container_instances(cluster=name, status="DRAINING")["containerInstanceArns"], [arns[0]])

        gone = client.deregister_container_instance(cluster=name, containerInstance=arns[0])
        self.assertEqual(gone["containerInstance"]["status"], "INACTIVE")
        remaining = client.list_container_instances(cluster=name)["containerInstanceArns"]
        self.assertNotIn(arns[0], remaining)

    def test_attributes_are_put_listed_filtered_and_deleted(self):
        client = ecs()
        name, arns = cluster_with_instances(client, count=2)
        client.put_attributes(cluster=name, attributes=[
            {"name": "stack", "value": "prod", "targetType": "container-instance", "targetId": arns[0]},
            {"name": "stack", "value": "test", "targetType": "container-instance", "targetId": arns[1]},
        ])
        prod = client.list_attributes(cluster=name, targetType="container-instance", attributeName="stack", attributeValue="prod")
        self.assertEqual([(a["name"], a["value"], a["targetId"]) for a in prod["attributes"]], [("stack", "prod", arns[0])])
        filtered = client.list_container_instances(cluster=name, filter="attribute:stack == test")
        self.assertEqual(filtered["containerInstanceArns"], [arns[1]])
        client.delete_attributes(cluster=name, attributes=[{"name": "stack", "targetId": arns[0]}])
        left = client.list_attributes(cluster=name, targetType="container-instance", attributeName="stack")
        self.assertEqual([a["targetId"] for a in left["attributes"]], [arns[1]])
        code, _, _ = error_code(client.put_attributes, cluster=name, attributes=[
            {"name": "ecs.os-type", "value": "windows", "targetId": arns[0]}
        ])
        self.assertEqual(code, "InvalidParameterException")
        code, _, _ = error_code(client.put_attributes, cluster=name, attributes=[
            {"name": "rack", "value": "r9", "targetId": arns[1]},
            {"name": "stack", "value": "x", "targetId": "i-0123456789abcdef0"},
        ])
        self.assertEqual(code, "TargetNotFoundException")
        # The refused request set nothing, not even its first attribute.
        rack = client.list_attributes(cluster=name, targetType="container-instance", attributeName="rack")
        self.assertEqual(rack["attributes"], [])


class Tasks(unittest.TestCase):
    def test_run_describe_list_and_stop(self):
        client = ecs()
        name, arns = cluster_with_instances(client, count=2)
        family = unique("run")
        client.register_task_definition(**web_definition(family))
        run = client.run_task(cluster=name, taskDefinition=family, count=5, startedBy="suite")
        self.assertEqual(run["failures"], [])
        task_arns = [t["taskArn"] for t in run["tasks"]]
        self.assertEqual(len(task_arns), 5)
        self.assertTrue(all(a.startswith(f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{name}/") for a in task_arns))
        client.get_waiter("tasks_running").wait(cluster=name, tasks=task_arns, WaiterConfig=FAST_WAIT)

        described = client.describe_tasks(cluster=name, tasks=task_arns + [f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{name}/0123"])
        self.assertEqual({t["lastStatus"] for t in described["tasks"]}, {"RUNNING"})
        self.assertEqual([f["reason"] for f in described["failures"]], ["MISSING"])
        task = described["tasks"][0]
        self.assertEqual(task["taskDefinitionArn"], f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:1")
        self.assertIn(task["containerInstanceArn"], arns)
        self.assertEqual(task["containers"][0]["name"], "web")
        self.assertEqual(task["launchType"], "EC2")
        self.assertTrue(task["startedAt"] >= task["createdAt"])

        pages = list(client.get_paginator("list_tasks").paginate(cluster=name, PaginationConfig={"PageSize": 2}))
        self.assertEqual(len(pages), 3)
        listed = [a for p in pages for a in p["taskArns"]]
        self.assertEqual(sorted(listed), sorted(task_arns))
        on_first = client.list_tasks(cluster=name, containerInstance=arns[0])["taskArns"]
        on_second = client.list_tasks(cluster=name, containerInstance=arns[1])["taskArns"]
        self.assertEqual(sorted(on_first + on_second), sorted(task_arns))
        self.assertEqual(len(client.list_tasks(cluster=name, family=family, startedBy="suite")["taskArns"]), 5)
        self.assertEqual(client.list_tasks(cluster=name, family="other")["taskArns"], [])

        stopped = client.stop_task(cluster=name, task=task_arns[0], reason="done with it")["task"]
        self.assertEqual(stopped["desiredStatus"], "STOPPED")
        client.get_waiter("tasks_stopped").wait(cluster=name, tasks=[task_arns[0]], WaiterConfig=FAST_WAIT)
        task = client.describe_tasks(cluster=name, tasks=[task_arns[0]])["tasks"][0]
        self.assertEqual((task["stopCode"], task["stoppedReason"]), ("UserInitiated", "done with it"))
        self.assertEqual(client.list_tasks(cluster=name, desiredStatus="STOPPED")["taskArns"], [task_arns[0]])
        # ECS's default filter is RUNNING: the stopped task is no longer listed.
        self.assertEqual(sorted(client.list_tasks(cluster=name)["taskArns"]), sorted(task_arns[1:]))

    def test_start_task_places_on_the_instances_named(self):
        client = ecs()
        name, arns = cluster_with_instances(client, count=2)
        family = unique("start")
        client.register_task_definition(**web_definition(family))
        out = client.start_task(cluster=name, taskDefinition=family, containerInstances=[arns[1]])
        self.assertEqual([t["containerInstanceArn"] for t in out["tasks"]], [arns[1]])

    def test_what_does_not_fit_is_a_failure_not_an_error(self):
        client = ecs()
        name, _ = cluster_with_instances(client, count=1, cpu=1024, memory=256)
        family = unique("big")
        client.register_task_definition(**web_definition(family, memory=200))
        out = client.run_task(cluster=name, taskDefinition=family, count=2)
        self.assertEqual(len(out["tasks"]), 1)
        self.assertEqual([f["reason"] for f in out["failures"]], ["RESOURCE:MEMORY"])

    def test_errors_name_what_is_wrong(self):
        client = ecs()
        name, _ = cluster_with_instances(client)
        family = unique("err")
        client.register_task_definition(**web_definition(family))
        code, message, _ = error_code(client.run_task, cluster=name, taskDefinition=family, count=11)
        self.assertEqual(code, "InvalidParameterException")
        self.assertIn("count", message)
        code, _, _ = error_code(client.run_task, cluster="nope-" + name, taskDefinition=family)
        self.assertEqual(code, "ClusterNotFoundException")
        code, _, _ = error_code(client.run_task, cluster=name, taskDefinition=family, launchType="FARGATE")
        self.assertEqual(code, "UnsupportedFeatureException")
        code, _, _ = error_code(client.stop_task, cluster=name, task="0123456789abcdef")
        self.assertEqual(code, "InvalidParameterException")
        code, _, _ = error_code(client.list_tasks, cluster=name, maxResults=1000)
        self.assertEqual(code, "InvalidParameterException")


class Services(unittest.TestCase):
    def test_create_scale_describe_list_and_delete(self):
        client = ecs()
        name, _ = cluster_with_instances(client, count=2)
        family = unique("svc")
        client.register_task_definition(**web_definition(family))
        service = client.create_service(cluster=name, serviceName="web", taskDefinition=family, desiredCount=3)["service"]
        self.assertEqual(service["serviceArn"], f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{name}/web")
        self.assertEqual(service["desiredCount"], 3)
        wait_stable(client, name, "web")
        # The waiter sees the counts; the rollout is COMPLETED once they have held a while.
        wait_until("rollout completed", lambda: client.describe_services(cluster=name, services=["web"])[
            "services"][0]["deployments"][0]["rolloutState"] == "COMPLETED")
        described = client.describe_services(cluster=name, services=["web", "nope"])
        web = described["services"][0]
        self.assertEqual((web["runningCount"], web["pendingCount"]), (3, 0))
        self.assertTrue(any("steady state" in e["message"] for e in web["events"]))
        self.assertEqual([f["reason"] for f in described["failures"]], ["MISSING"])
        self.assertEqual(len(client.list_tasks(cluster=name, serviceName="web")["taskArns"]), 3)

        client.update_service(cluster=name, service=service["serviceArn"], desiredCount=1)
        wait_stable(client, name, "web")
        self.assertEqual(client.describe_services(cluster=name, services=["web"])["services"][0]["runningCount"], 1)

        client.register_task_definition(**web_definition(family, memory=72))
        rolled = client.update_service(cluster=name, service="web", taskDefinition=family)["service"]
        self.assertTrue(rolled["taskDefinition"].endswith(f"{family}:2"))
        wait_stable(client, name, "web")

        self.assertEqual(client.list_services(cluster=name)["serviceArns"], [service["serviceArn"]])
        code, _, _ = error_code(client.delete_service, cluster=name, service="web")
        self.assertEqual(code, "InvalidParameterException")
        deleted = client.delete_service(cluster=name, service="web", force=True)["service"]
        self.assertEqual(deleted["status"], "DRAINING")

    def test_errors(self):
        client = ecs()
        name, _ = cluster_with_instances(client)
        family = unique("svcerr")
        client.register_task_definition(**web_definition(family))
        code, _, _ = error_code(client.update_service, cluster=name, service="nope", desiredCount=1)
        self.assertEqual(code, "ServiceNotFoundException")
        code, _, _ = error_code(client.describe_services, cluster="nope-" + name, services=["web"])
        self.assertEqual(code, "ClusterNotFoundException")
        client.create_service(cluster=name, serviceName="dup", taskDefinition=family, desiredCount=0)
        code, _, _ = error_code(client.create_service, cluster=name, serviceName="dup", taskDefinition=family, desiredCount=0)
        self.assertEqual(code, "InvalidParameterException")


class Tagging(unittest.TestCase):
    def test_every_taggable_resource(self):
        client = ecs()
        name = unique("tags")
        cluster = client.create_cluster(clusterName=name, tags=[{"key": "made-by", "value": "create"}])["cluster"]
        self.assertEqual(cluster["tags"], [{"key": "made-by", "value": "create"}])
        instance = client.register_container_instance(
            cluster=name,
            totalResources=[
                {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048},
            ],
            tags=[{"key": "rack", "value": "r1"}],
        )["containerInstance"]
        family = unique("tagtd")
        registered = client.register_task_definition(**web_definition(family), tags=[{"key": "tier", "value": "web"}])
        self.assertEqual(registered["tags"], [{"key": "tier", "value": "web"}])
        td_arn = registered["taskDefinition"]["taskDefinitionArn"]
        task = client.run_task(cluster=name, taskDefinition=family, tags=[{"key": "job", "value": "nightly"}])["tasks"][0]
        self.assertEqual(task["tags"], [{"key": "job", "value": "nightly"}])
        service = client.create_service(
            cluster=name, serviceName="svc", taskDefinition=family, desiredCount=0, tags=[{"key": "owner", "value": "me"}]
        )["service"]
        arns = {
            cluster["clusterArn"]: {"made-by": "create"},
            instance["containerInstanceArn"]: {"rack": "r1"},
            td_arn: {"tier": "web"},
            task["taskArn"]: {"job": "nightly"},
            service["serviceArn"]: {"owner": "me"},
        }
        for arn, initial in arns.items():
            listed = client.list_tags_for_resource(resourceArn=arn)["tags"]
            self.assertEqual({t["key"]: t["value"] for t in listed}, initial, arn)
            client.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "test"}, {"key": "x", "value": "1"}])
            client.untag_resource(resourceArn=arn, tagKeys=["x"])
            listed = client.list_tags_for_resource(resourceArn=arn)["tags"]
            self.assertEqual({t["key"]: t["value"] for t in listed}, {**initial, "env": "test"}, arn)
        described = client.describe_task_definition(taskDefinition=td_arn, include=["TAGS"])
        self.assertEqual({t["key"] for t in described["tags"]}, {"tier", "env"})
        self.assertNotIn("tags", client.describe_task_definition(taskDefinition=td_arn))

        code, message, _ = error_code(client.tag_resource, resourceArn=cluster["clusterArn"], tags=[{"key": "aws:x", "value": "1"}])
        self.assertEqual(code, "InvalidParameterException")
        self.assertIn("aws:", message)
        gone = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{name}/nope"
        code, _, _ = error_code(client.list_tags_for_resource, resourceArn=gone)
        self.assertEqual(code, "ResourceNotFoundException")
        code, _, _ = error_code(client.list_tags_for_resource, resourceArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/nope-{name}")
        self.assertEqual(code, "ClusterNotFoundException")


class ClusterLifecycle(unittest.TestCase):
    def test_settings_and_deletion(self):
        client = ecs()
        name, arns = cluster_with_instances(client)
        updated = client.update_cluster_settings(cluster=name, settings=[{"name": "containerInsights", "value": "enabled"}])
        self.assertEqual(updated["cluster"]["settings"], [{"name": "containerInsights", "value": "enabled"}])
        code, _, _ = error_code(client.update_cluster_settings, cluster=name, settings=[{"name": "containerInsights", "value": "maybe"}])
        self.assertEqual(code, "InvalidParameterException")
        # A refused CreateCluster creates nothing.
        other = unique("refused")
        code, _, _ = error_code(client.create_cluster, clusterName=other, settings=[{"name": "containerInsights", "value": "maybe"}])
        self.assertEqual(code, "InvalidParameterException")
        self.assertEqual(client.describe_clusters(clusters=[other])["failures"][0]["reason"], "MISSING")

        family = unique("del")
        client.register_task_definition(**web_definition(family))
        client.create_service(cluster=name, serviceName="svc", taskDefinition=family, desiredCount=0)
        code, _, _ = error_code(client.delete_cluster, cluster=name)
        self.assertEqual(code, "ClusterContainsContainerInstancesException")
        client.deregister_container_instance(cluster=name, containerInstance=arns[0], force=True)
        code, _, _ = error_code(client.delete_cluster, cluster=name)
        self.assertEqual(code, "ClusterContainsServicesException")
        client.delete_service(cluster=name, service="svc")
        deleted = wait_until("cluster deleted", lambda: self._try_delete(client, name))
        self.assertEqual(deleted["cluster"]["status"], "INACTIVE")
        self.assertEqual(client.describe_clusters(clusters=[name])["failures"][0]["reason"], "MISSING")
        code, _, _ = error_code(client.delete_cluster, cluster=name)
        self.assertEqual(code, "ClusterNotFoundException")

    @staticmethod
    def _try_delete(client, name):
        try:
            return client.delete_cluster(cluster=name)
        except ClientError as e:
            if e.response["Error"]["Code"] == "ClusterContainsServicesException":
                return None
            raise

    def test_task_definitions_are_deleted_once_deregistered(self):
        client = ecs()
        family = unique("deltd")
        client.register_task_definition(**web_definition(family))
        refused = client.delete_task_definitions(taskDefinitions=[f"{family}:1"])
        self.assertEqual(refused["taskDefinitions"], [])
        self.assertIn("deregister", refused["failures"][0]["reason"])
        client.deregister_task_definition(taskDefinition=f"{family}:1")
        client.register_task_definition(**web_definition(family))
        # Each revision answers for itself: the deregistered one is deleted, the ACTIVE
        # one and the unknown one are failures.
        out = client.delete_task_definitions(taskDefinitions=[f"{family}:1", f"{family}:2", f"{family}:9"])
        self.assertEqual([t["revision"] for t in out["taskDefinitions"]], [1])
        self.assertEqual(out["taskDefinitions"][0]["status"], "DELETE_IN_PROGRESS")
        self.assertEqual([f["arn"].rsplit(":", 1)[1] for f in out["failures"]], ["2", "9"])
        self.assertEqual(out["failures"][1]["reason"], "MISSING")
        described = client.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"]
        self.assertEqual(described["status"], "DELETE_IN_PROGRESS")


class ApplicationAutoScaling(unittest.TestCase):
    def test_a_service_scales_on_its_cpu(self):
        client = ecs()
        scaling = boto3.client("application-autoscaling", endpoint_url=ENDPOINT, region_name=REGION, config=CONFIG)
        name, _ = cluster_with_instances(client, count=2)
        family = unique("scale")
        client.register_task_definition(**web_definition(family))
        client.create_service(cluster=name, serviceName="web", taskDefinition=family, desiredCount=1)
        resource = f"service/{name}/web"
        target = scaling.register_scalable_target(
            ServiceNamespace="ecs", ResourceId=resource, ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=1, MaxCapacity=3,
        )
        self.assertTrue(target["ScalableTargetARN"].endswith(resource))
        # A bound changed alone keeps the other.
        scaling.register_scalable_target(
            ServiceNamespace="ecs", ResourceId=resource, ScalableDimension="ecs:service:DesiredCount", MaxCapacity=4,
        )
        described = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"]
        self.assertEqual([(t["MinCapacity"], t["MaxCapacity"]) for t in described], [(1, 4)])

        # The simulated containers use 0.01 CPU of the task's 0.125: 8%, far above 1%.
        policy = scaling.put_scaling_policy(
            PolicyName="cpu", ServiceNamespace="ecs", ResourceId=resource,
            ScalableDimension="ecs:service:DesiredCount", PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 1.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
                "ScaleOutCooldown": 0, "ScaleInCooldown": 600,
            },
        )
        self.assertIn("policyName/cpu", policy["PolicyARN"])
        policies = scaling.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"]
        self.assertEqual([p["PolicyName"] for p in policies], ["cpu"])
        config = policies[0]["TargetTrackingScalingPolicyConfiguration"]
        self.assertEqual(config["PredefinedMetricSpecification"]["PredefinedMetricType"], "ECSServiceAverageCPUUtilization")
        self.assertEqual(config["TargetValue"], 1.0)

        wait_until("scaled out to 4", lambda: client.describe_services(cluster=name, services=["web"])[
            "services"][0]["desiredCount"] == 4)
        activities = scaling.describe_scaling_activities(ServiceNamespace="ecs", ResourceId=resource)["ScalingActivities"]
        self.assertTrue(activities)
        self.assertEqual(activities[0]["StatusCode"], "Successful")
        self.assertIn("4", activities[0]["Description"])

        code, message, _ = error_code(
            scaling.put_scaling_policy, PolicyName="steps", ServiceNamespace="ecs", ResourceId=resource,
            ScalableDimension="ecs:service:DesiredCount", PolicyType="StepScaling",
            StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity",
                                            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]},
        )
        self.assertEqual(code, "ValidationException")
        self.assertIn("CloudWatch", message)
        code, _, _ = error_code(
            scaling.register_scalable_target, ServiceNamespace="ecs", ResourceId=f"service/{name}/nope",
            ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=2,
        )
        self.assertEqual(code, "ObjectNotFoundException")
        code, _, _ = error_code(
            scaling.describe_scalable_targets, ServiceNamespace="dynamodb",
        )
        self.assertEqual(code, "ValidationException")
        code, _, _ = error_code(scaling.describe_scalable_targets, ServiceNamespace="ecs", NextToken="zz")
        self.assertEqual(code, "InvalidNextTokenException")

        scaling.delete_scaling_policy(PolicyName="cpu", ServiceNamespace="ecs", ResourceId=resource,
                                      ScalableDimension="ecs:service:DesiredCount")
        self.assertEqual(scaling.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=resource)["ScalingPolicies"], [])
        scaling.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=resource, ScalableDimension="ecs:service:DesiredCount")
        self.assertEqual(scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"], [])
        code, _, _ = error_code(
            scaling.deregister_scalable_target, ServiceNamespace="ecs", ResourceId=resource,
            ScalableDimension="ecs:service:DesiredCount",
        )
        self.assertEqual(code, "ObjectNotFoundException")


class CapacityProviders(unittest.TestCase):
    """The server's instance group `sim` (simulated instances of 1024 CPU units,
    2048 MiB, at most 4) behind a capacity provider with managed scaling."""

    def provider(self, client, name, group="sim", **scaling):
        managed = {"status": "ENABLED", "targetCapacity": 100, "instanceWarmupPeriod": 1, **scaling}
        return client.create_capacity_provider(
            name=name,
            autoScalingGroupProvider={
                "autoScalingGroupArn": f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:1234:autoScalingGroupName/{group}",
                "managedScaling": managed,
                "managedTerminationProtection": "ENABLED",
            },
            tags=[{"key": "team", "value": "infra"}],
        )["capacityProvider"]

    def test_tasks_wait_for_capacity_and_the_cluster_grows_and_shrinks(self):
        client = ecs()
        cluster = unique("cp")
        client.create_cluster(clusterName=cluster)
        name = unique("cp")
        created = self.provider(client, name)
        self.assertEqual(created["status"], "ACTIVE")
        self.assertEqual(created["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"], 100)
        self.assertEqual(created["autoScalingGroupProvider"]["managedTerminationProtection"], "ENABLED")
        self.assertTrue(created["capacityProviderArn"].endswith(f":capacity-provider/{name}"))
        code, _, _ = error_code(self.provider, client, name)
        self.assertEqual(code, "InvalidParameterException")  # the group serves one provider
        put = client.put_cluster_capacity_providers(
            cluster=cluster, capacityProviders=[name],
            defaultCapacityProviderStrategy=[{"capacityProvider": name, "weight": 1, "base": 0}],
        )["cluster"]
        self.assertEqual(put["capacityProviders"], [name])
        self.assertEqual(put["defaultCapacityProviderStrategy"], [{"capacityProvider": name, "weight": 1, "base": 0}])
        family = unique("cptd")
        client.register_task_definition(**web_definition(family, memory=256))
        # No instance yet: the tasks wait in PROVISIONING rather than fail.
        run = client.run_task(cluster=cluster, taskDefinition=family, count=3)
        self.assertEqual(run["failures"], [])
        self.assertEqual({t["lastStatus"] for t in run["tasks"]}, {"PROVISIONING"})
        self.assertTrue(all("containerInstanceArn" not in t for t in run["tasks"]))
        self.assertEqual({t["capacityProviderName"] for t in run["tasks"]}, {name})
        arns = [t["taskArn"] for t in run["tasks"]]
        client.get_waiter("tasks_running").wait(cluster=cluster, tasks=arns, WaiterConfig=FAST_WAIT)
        instances = client.describe_container_instances(
            cluster=cluster, containerInstances=client.list_container_instances(cluster=cluster)["containerInstanceArns"],
        )["containerInstances"]
        self.assertEqual(len(instances), 1)
        self.assertEqual(instances[0]["capacityProviderName"], name)
        described = client.describe_capacity_providers(capacityProviders=[name, "nope"])
        self.assertEqual([p["name"] for p in described["capacityProviders"]], [name])
        self.assertEqual(described["failures"][0]["reason"], "MISSING")
        # In use: neither deleted nor taken off the cluster.
        code, _, _ = error_code(client.delete_capacity_provider, capacityProvider=name)
        self.assertEqual(code, "ResourceInUseException")
        code, _, _ = error_code(client.put_cluster_capacity_providers, cluster=cluster, capacityProviders=[],
                                defaultCapacityProviderStrategy=[])
        self.assertEqual(code, "ResourceInUseException")
        updated = client.update_capacity_provider(
            name=name, autoScalingGroupProvider={"managedScaling": {"targetCapacity": 50}},
        )["capacityProvider"]
        self.assertEqual(updated["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"], 50)
        self.assertEqual(updated["autoScalingGroupProvider"]["managedScaling"]["instanceWarmupPeriod"], 1)
        # At 50 %, the one busy instance wants a spare beside it.
        wait_until("a second instance at 50 %",
                   lambda: len(client.list_container_instances(cluster=cluster)["containerInstanceArns"]) == 2)
        for arn in arns:
            client.stop_task(cluster=cluster, task=arn)
        wait_until("every instance let go",
                   lambda: client.list_container_instances(cluster=cluster)["containerInstanceArns"] == [])
        client.put_cluster_capacity_providers(cluster=cluster, capacityProviders=[], defaultCapacityProviderStrategy=[])
        deleted = client.delete_capacity_provider(capacityProvider=name)["capacityProvider"]
        self.assertEqual(deleted["name"], name)
        self.assertEqual(client.describe_capacity_providers(capacityProviders=[name])["capacityProviders"], [])

    def test_bad_requests_are_refused(self):
        client = ecs()
        code, message, _ = error_code(self.provider, client, "ecs-mine")
        self.assertEqual(code, "InvalidParameterException")
        self.assertIn("name", message)
        code, message, _ = error_code(self.provider, client, unique("cp"), group="nowhere")
        self.assertEqual(code, "InvalidParameterException")
        self.assertIn("nowhere", message)
        # boto3 refuses a target of 0 itself; the server too.
        status, body = raw("CreateCapacityProvider", json.dumps({
            "name": unique("cp"),
            "autoScalingGroupProvider": {"autoScalingGroupArn": "sim", "managedScaling": {"targetCapacity": 0}},
        }).encode())
        self.assertEqual((status, body["__type"]), (400, "InvalidParameterException"))
        self.assertIn("targetCapacity", body["message"])
        cluster = unique("cp")
        client.create_cluster(clusterName=cluster)
        family = unique("cptd")
        client.register_task_definition(**web_definition(family))
        code, message, _ = error_code(
            client.run_task, cluster=cluster, taskDefinition=family,
            capacityProviderStrategy=[{"capacityProvider": "elsewhere", "weight": 1}],
        )
        self.assertEqual(code, "InvalidParameterException")
        self.assertIn("capacityProviderStrategy", message)
        code, _, _ = error_code(
            client.put_cluster_capacity_providers, cluster=cluster, capacityProviders=["nope"],
            defaultCapacityProviderStrategy=[],
        )
        self.assertEqual(code, "InvalidParameterException")
        code, _, _ = error_code(
            client.put_cluster_capacity_providers, cluster="nope-" + cluster, capacityProviders=[],
            defaultCapacityProviderStrategy=[],
        )
        self.assertEqual(code, "ClusterNotFoundException")


class AwsCli(unittest.TestCase):
    def aws(self, *args, check=True):
        out = subprocess.run(
            [AWS, "ecs", *args, "--endpoint-url", ENDPOINT, "--output", "json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and out.returncode != 0:
            raise AssertionError(f"aws ecs {' '.join(args)} failed ({out.returncode}): {out.stderr}")
        return out

    def test_a_session_with_the_cli(self):
        cluster = unique("cli")
        created = json.loads(self.aws("create-cluster", "--cluster-name", cluster).stdout)
        self.assertEqual(created["cluster"]["clusterName"], cluster)
        self.aws(
            "register-container-instance", "--cluster", cluster,
            "--total-resources", "name=CPU,type=INTEGER,integerValue=2048", "name=MEMORY,type=INTEGER,integerValue=4096",
        )
        family = unique("clitd")
        definition = web_definition(family)
        path = f"/tmp/{family}.json"
        with open(path, "w") as f:
            json.dump(definition, f)
        registered = json.loads(self.aws("register-task-definition", "--cli-input-json", f"file://{path}").stdout)
        self.assertEqual(registered["taskDefinition"]["revision"], 1)
        run = json.loads(self.aws("run-task", "--cluster", cluster, "--task-definition", family, "--count", "3").stdout)
        self.assertEqual(len(run["tasks"]), 3)
        # The CLI pages by itself: --page-size 1 takes three calls and prints all three.
        listed = json.loads(self.aws("list-tasks", "--cluster", cluster, "--page-size", "1").stdout)
        self.assertEqual(sorted(listed["taskArns"]), sorted(t["taskArn"] for t in run["tasks"]))
        self.aws("wait", "tasks-running", "--cluster", cluster, "--tasks", *listed["taskArns"])
        described = json.loads(self.aws("describe-tasks", "--cluster", cluster, "--tasks", *listed["taskArns"]).stdout)
        self.assertEqual({t["lastStatus"] for t in described["tasks"]}, {"RUNNING"})
        targets = subprocess.run(
            [AWS, "application-autoscaling", "describe-scalable-targets", "--service-namespace", "ecs",
             "--endpoint-url", ENDPOINT, "--output", "json"],
            capture_output=True, text=True, timeout=120,
        )
        self.assertEqual(targets.returncode, 0, targets.stderr)
        self.assertIn("ScalableTargets", json.loads(targets.stdout))
        missing = self.aws("describe-services", "--cluster", "nope-" + cluster, "--services", "web", check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("ClusterNotFoundException", missing.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
