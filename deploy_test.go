// Checks of the deployment files against the code: handler, runtime, events, role and
// policies, and that every environment variable they set is one directup reads.
package deploy_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"gopkg.in/yaml.v3"

	"github.com/directup/directup/shared/config"
	_ "github.com/directup/directup/shared/stores/all" // their variables are directup's too
)

// lookup walks a YAML mapping tree by keys.
func lookup(t *testing.T, n *yaml.Node, path ...string) *yaml.Node {
	t.Helper()
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	for _, key := range path {
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				n, found = n.Content[i+1], true
				break
			}
		}
		if !found {
			t.Fatalf("no %q in %v", key, path)
		}
	}
	return n
}

func keys(n *yaml.Node) []string {
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

func parse(t *testing.T, path string) *yaml.Node {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

func checkVariables(t *testing.T, names []string) {
	known := config.Variables()
	for _, n := range names {
		if !slices.Contains(known, n) {
			t.Errorf("the deployment sets %s, which directup does not read", n)
		}
	}
	if !slices.Contains(names, "COS_BUCKET") {
		t.Errorf("the deployment does not set COS_BUCKET")
	}
	if !slices.Contains(names, "UPLOAD_TOKEN_SECRET") && !slices.Contains(names, "UPLOAD_TOKEN_SECRET_FROM") {
		t.Errorf("the deployment sets neither UPLOAD_TOKEN_SECRET nor UPLOAD_TOKEN_SECRET_FROM")
	}
}

// secretSettings are the settings holding a secret: a deployment file names where each
// is kept (NAME_FROM), never the value.
var secretSettings = []string{"UPLOAD_TOKEN_SECRET", "HOOK_SECRET", "EVENTS_SECRET", "QUEUE_CALLBACK_SECRET",
	"AUTH_JWT_SECRET", "TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY"}

// checkNoPlainSecrets: a serverless.yml names where each secret is kept, never its value.
func checkNoPlainSecrets(t *testing.T, file string, vars []string) {
	t.Helper()
	for _, v := range vars {
		if slices.Contains(secretSettings, v) {
			t.Errorf("%s sets %s: a secret's value in the function's configuration (set %s_FROM)", file, v, v)
		}
	}
}

// checkNoSecretValues: no secret setting is set plainly, and the Tencent key references
// are dropped on the keyless path (!If [UseKeyless, !Ref AWS::NoValue, ...]).
func checkNoSecretValues(t *testing.T, fn string, vars *yaml.Node) {
	t.Helper()
	for i := 0; i+1 < len(vars.Content); i += 2 {
		name, v := vars.Content[i].Value, vars.Content[i+1]
		if slices.Contains(secretSettings, name) {
			t.Errorf("%s sets %s: a secret's value in the function's configuration (set %s_FROM)", fn, name, name)
		}
		if strings.HasPrefix(name, "TENCENTCLOUD_SECRET") {
			if v.Tag != "!If" || len(v.Content) != 3 || v.Content[0].Value != "UseKeyless" || v.Content[1].Value != "AWS::NoValue" {
				t.Errorf("%s: %s must be dropped on the keyless path", fn, name)
			}
		}
	}
}

func TestSAMTemplate(t *testing.T) {
	tmpl, err := goformation.Open("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fn, err := tmpl.GetServerlessFunctionWithName("ApiFunction")
	if err != nil {
		t.Fatal(err)
	}
	if fn.Handler == nil || *fn.Handler != "bootstrap" || fn.Runtime == nil || *fn.Runtime != "provided.al2023" ||
		!slices.Equal(fn.Architectures, []string{"arm64"}) {
		t.Errorf("function: handler %v runtime %v architectures %v", fn.Handler, fn.Runtime, fn.Architectures)
	}
	if fn.CodeUri == nil || fn.CodeUri.String == nil || *fn.CodeUri.String != "dist/lambda-arm64/" {
		t.Errorf("CodeUri must be the lambda-arm64 build output")
	}
	ev, ok := fn.Events["Api"]
	if !ok || ev.Type != "HttpApi" || ev.Properties.HttpApiEvent == nil || ev.Properties.HttpApiEvent.Path == nil ||
		*ev.Properties.HttpApiEvent.Path != "/{proxy+}" || ev.Properties.HttpApiEvent.Method == nil || *ev.Properties.HttpApiEvent.Method != "ANY" {
		t.Errorf("Api event %+v", ev)
	}

	// goformation resolves or drops intrinsics; read names and policies from the tree.
	doc := parse(t, "template.yaml")
	props := lookup(t, doc, "Resources", "ApiFunction", "Properties")
	vars := lookup(t, props, "Environment", "Variables")
	checkVariables(t, keys(vars))
	if !slices.Contains(keys(vars), "API_PUBLIC_URL") {
		t.Error("template.yaml must let the deployer set API_PUBLIC_URL")
	}
	checkPolicies(t, doc, props)
	params := append(keys(lookup(t, doc, "Parameters")), "AWS::Region")
	for i := 0; i+1 < len(vars.Content); i += 2 {
		v := vars.Content[i+1]
		if v.Tag == "!If" && len(v.Content) == 3 { // !If [cond, !Ref AWS::NoValue, !Ref Param]
			v = v.Content[2]
		}
		if v.Tag != "!Ref" || !slices.Contains(params, v.Value) {
			t.Errorf("%s must come from a parameter, not %s %q", vars.Content[i].Value, v.Tag, v.Value)
		}
	}
	queue := lookup(t, doc, "Resources", "QueueFunction", "Properties")
	checkPolicies(t, doc, queue)
	for key, want := range map[string]string{"Handler": "bootstrap", "Runtime": "provided.al2023", "CodeUri": "dist/lambda-queue-arm64/"} {
		if got := lookup(t, queue, key).Value; got != want {
			t.Errorf("QueueFunction %s = %q, want %q", key, got, want)
		}
	}
	checkVariables(t, keys(lookup(t, queue, "Environment", "Variables")))
	// The storage-triggered function: retried by Lambda, then to an on-failure queue;
	// S3 may invoke it for this bucket only.
	evf := lookup(t, doc, "Resources", "EventsFunction", "Properties")
	for key, want := range map[string]string{"Handler": "bootstrap", "Runtime": "provided.al2023", "CodeUri": "dist/lambda-events-arm64/"} {
		if got := lookup(t, evf, key).Value; got != want {
			t.Errorf("EventsFunction %s = %q, want %q", key, got, want)
		}
	}
	checkVariables(t, keys(lookup(t, evf, "Environment", "Variables")))
	if lookup(t, evf, "EventInvokeConfig", "DestinationConfig", "OnFailure", "Type").Value != "SQS" {
		t.Error("EventsFunction needs an on-failure destination: an event Lambda gives up on must not vanish")
	}
	perm := lookup(t, doc, "Resources", "EventsInvokePermission", "Properties")
	if lookup(t, perm, "Principal").Value != "s3.amazonaws.com" || lookup(t, perm, "SourceArn").Value != "arn:aws:s3:::${S3Bucket}" {
		t.Error("only the upload bucket's notifications may invoke EventsFunction")
	}
	sqs := lookup(t, queue, "Events", "Requests")
	if lookup(t, sqs, "Type").Value != "SQS" {
		t.Error("the queue function needs an SQS event")
	}
	// goformation drops FunctionResponseTypes: read it from the tree.
	if rt := lookup(t, sqs, "Properties", "FunctionResponseTypes"); len(rt.Content) != 1 || rt.Content[0].Value != "ReportBatchItemFailures" {
		t.Error("the SQS event must report batch item failures, or one failed message redelivers the batch")
	}
	if q := lookup(t, sqs, "Properties", "Queue"); q.Tag != "!GetAtt" || q.Value != "UploadRequests.Arn" {
		t.Errorf("SQS event queue %s %q", q.Tag, q.Value)
	}
	if n := lookup(t, doc, "Resources", "UploadRequests", "Properties", "RedrivePolicy", "maxReceiveCount").Value; n != "5" {
		t.Errorf("maxReceiveCount %s", n)
	}
	for _, fn := range []string{"ApiFunction", "QueueFunction", "EventsFunction"} {
		checkNoSecretValues(t, fn, lookup(t, doc, "Resources", fn, "Properties", "Environment", "Variables"))
	}
	// Secrets are references, not values: no parameter holds one (NoEcho would mean it does).
	pn := lookup(t, doc, "Parameters")
	for i := 0; i+1 < len(pn.Content); i += 2 {
		for _, k := range keys(pn.Content[i+1]) {
			if k == "NoEcho" {
				t.Errorf("parameter %s is NoEcho: a secret value passed to the deployment", pn.Content[i].Value)
			}
		}
	}
	checkSecretsPolicy(t, doc)
	checkWebIdentityPolicy(t, doc)
}

// checkSecretsPolicy: the functions read secrets under the directup/ prefix and nothing else.
func checkSecretsPolicy(t *testing.T, doc *yaml.Node) {
	t.Helper()
	stmts := lookup(t, doc, "Resources", "SecretsPolicy", "Properties", "PolicyDocument", "Statement")
	want := map[string]string{
		"secretsmanager:GetSecretValue": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:directup/*",
		"ssm:GetParameter":              "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/directup/*",
	}
	if len(stmts.Content) != len(want) {
		t.Fatalf("SecretsPolicy has %d statements, want %d", len(stmts.Content), len(want))
	}
	for _, st := range stmts.Content {
		a, r := lookup(t, st, "Action").Value, lookup(t, st, "Resource").Value
		if want[a] != r {
			t.Errorf("SecretsPolicy grants %s on %s", a, r)
		}
	}
}

// checkWebIdentityPolicy: sts:GetWebIdentityToken only for the Tencent STS audience, and
// only on the keyless path.
func checkWebIdentityPolicy(t *testing.T, doc *yaml.Node) {
	t.Helper()
	pol := lookup(t, doc, "Resources", "WebIdentityPolicy")
	if lookup(t, pol, "Condition").Value != "UseKeyless" {
		t.Error("WebIdentityPolicy must exist only on the keyless path")
	}
	stmts := lookup(t, pol, "Properties", "PolicyDocument", "Statement")
	if len(stmts.Content) != 1 {
		t.Fatalf("WebIdentityPolicy has %d statements", len(stmts.Content))
	}
	st := stmts.Content[0]
	if lookup(t, st, "Action").Value != "sts:GetWebIdentityToken" {
		t.Errorf("WebIdentityPolicy grants %s", lookup(t, st, "Action").Value)
	}
	aud := lookup(t, st, "Condition", "ForAllValues:StringEquals", "sts:IdentityTokenAudience")
	if aud.Tag != "!Ref" || aud.Value != "CosWebIdentityAudience" ||
		lookup(t, st, "Condition", "Null", "sts:IdentityTokenAudience").Value != "false" {
		t.Error("sts:GetWebIdentityToken must be limited to the CosWebIdentityAudience audience (sts:IdentityTokenAudience, present)")
	}
	if c := lookup(t, doc, "Conditions", "UseKeyless"); c.Tag != "!Not" {
		t.Error("UseKeyless must be set by CosWebIdentityProviderId")
	}
	for _, fn := range []string{"ApiFunction", "QueueFunction"} {
		found := false
		for _, p := range lookup(t, doc, "Resources", fn, "Properties", "Policies").Content {
			if p.Tag == "!If" && p.Content[0].Value == "UseKeyless" && p.Content[1].Value == "WebIdentityPolicy" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s lacks WebIdentityPolicy on the keyless path", fn)
		}
	}
}

// checkPolicies: a function gets the S3 upload policy only when S3 is used, and that
// policy holds exactly the multipart actions on the prefix (and reading markers).
func checkPolicies(t *testing.T, doc *yaml.Node, props *yaml.Node) {
	t.Helper()
	p := lookup(t, props, "Policies")
	if len(p.Content) != 3 || p.Content[1].Value != "SecretsPolicy" || p.Content[2].Tag != "!If" || p.Content[2].Content[1].Value != "WebIdentityPolicy" {
		t.Errorf("Policies must be UploadPolicy with S3, SecretsPolicy, WebIdentityPolicy when keyless")
	}
	if len(p.Content) < 1 || p.Content[0].Tag != "!If" || p.Content[0].Content[0].Value != "UseS3" ||
		p.Content[0].Content[1].Value != "UploadPolicy" || p.Content[0].Content[2].Value != "AWS::NoValue" {
		t.Errorf("Policies must be [!If [UseS3, !Ref UploadPolicy, !Ref AWS::NoValue]]")
	}
	stmts := lookup(t, doc, "Resources", "UploadPolicy", "Properties", "PolicyDocument", "Statement")
	var actions []string
	for _, st := range stmts.Content {
		a := lookup(t, st, "Action")
		if a.Kind == yaml.ScalarNode {
			actions = append(actions, a.Value)
		}
		for _, n := range a.Content {
			actions = append(actions, n.Value)
		}
		r := lookup(t, st, "Resource").Value
		switch {
		case a.Value == "s3:ListBucketMultipartUploads":
			if r != "arn:aws:s3:::${S3Bucket}" {
				t.Errorf("the bucket-level action is on %q", r)
			}
		case a.Value == "s3:ListBucket":
			// Listing is bucket-level: it must be held to the folders of open uploads.
			if cond := lookup(t, st, "Condition", "StringLike", "s3:prefix").Value; r != "arn:aws:s3:::${S3Bucket}" || cond != "${UploadKeyPrefix}.directup/open/*" {
				t.Errorf("s3:ListBucket on %q with prefix %q: only the records of open uploads may be listed", r, cond)
			}
		case !strings.HasPrefix(r, "arn:aws:s3:::${S3Bucket}/${UploadKeyPrefix}"):
			t.Errorf("resource %q is wider than the upload prefix", r)
		}
	}
	slices.Sort(actions)
	if want := []string{"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListMultipartUploadParts", "s3:PutObject"}; !slices.Equal(actions, want) {
		t.Errorf("actions %v, want %v", actions, want)
	}
}

func TestQueueServerlessYML(t *testing.T) {
	doc := parse(t, "functions/queue/serverless.yml")
	in := lookup(t, doc, "inputs")
	for key, want := range map[string]string{"runtime": "Go1", "handler": "main", "role": "${env:SCF_ROLE}"} {
		if got := lookup(t, in, key).Value; got != want {
			t.Errorf("inputs.%s = %q, want %q", key, got, want)
		}
	}
	if src := lookup(t, in, "src", "src").Value; src != "../../dist/scf-queue" {
		t.Errorf("src %q is not where scripts/build puts the queue binary", src)
	}
	vars := keys(lookup(t, in, "environment", "variables"))
	checkVariables(t, vars)
	if !slices.Contains(vars, "QUEUE_CALLBACK_SECRET_FROM") {
		t.Error("the queue function signs callbacks: QUEUE_CALLBACK_SECRET_FROM must be set")
	}
	checkNoPlainSecrets(t, "functions/queue/serverless.yml", vars)
	var kinds []string
	for _, e := range lookup(t, in, "events").Content {
		kinds = append(kinds, keys(e)...)
	}
	if !slices.Contains(kinds, "cmq") || !slices.Contains(kinds, "ckafka") {
		t.Errorf("events %v: want cmq and ckafka triggers", kinds)
	}
}

func TestServerlessYML(t *testing.T) {
	doc := parse(t, "serverless.yml")
	if c := lookup(t, doc, "component").Value; c != "scf" {
		t.Errorf("component %q", c)
	}
	in := lookup(t, doc, "inputs")
	for key, want := range map[string]string{"runtime": "Go1", "handler": "main", "type": "event", "role": "${env:SCF_ROLE}"} {
		if got := lookup(t, in, key).Value; got != want {
			t.Errorf("inputs.%s = %q, want %q", key, got, want)
		}
	}
	if src := lookup(t, in, "src", "src").Value; src != "./dist/scf" {
		t.Errorf("src %q is not where scripts/build puts the SCF binary", src)
	}
	checkVariables(t, keys(lookup(t, in, "environment", "variables")))
	if !slices.Contains(keys(lookup(t, in, "environment", "variables")), "API_PUBLIC_URL") {
		t.Error("serverless.yml must let the deployer set API_PUBLIC_URL")
	}
	events := lookup(t, in, "events")
	var kinds []string
	for _, e := range events.Content {
		kinds = append(kinds, keys(e)...)
	}
	if !slices.Contains(kinds, "http") {
		t.Errorf("events %v: want a Function URL (http) trigger", kinds)
	}
	http := events.Content[slices.Index(kinds, "http")]
	if lookup(t, http, "http", "parameters", "netConfig", "enableExtranet").Value != "true" {
		t.Errorf("the Function URL must be reachable from browsers")
	}
	for _, v := range keys(lookup(t, in, "environment", "variables")) {
		if strings.HasPrefix(v, "TENCENTCLOUD_") {
			t.Errorf("%s must come from the execution role, not the file", v)
		}
	}
	checkNoPlainSecrets(t, "serverless.yml", keys(lookup(t, in, "environment", "variables")))
	if ref := lookup(t, in, "environment", "variables", "UPLOAD_TOKEN_SECRET_FROM").Value; !strings.HasPrefix(ref, "tencent-ssm:") {
		t.Errorf("UPLOAD_TOKEN_SECRET_FROM = %q: on SCF the secret is kept in Tencent SSM", ref)
	}
}

func TestEventsServerlessYML(t *testing.T) {
	doc := parse(t, "functions/events/serverless.yml")
	in := lookup(t, doc, "inputs")
	if src := lookup(t, in, "src", "src").Value; src != "../../dist/scf-events" {
		t.Errorf("src %q is not where scripts/build puts the events binary", src)
	}
	vars := keys(lookup(t, in, "environment", "variables"))
	checkVariables(t, vars)
	if !slices.Contains(vars, "EVENTS_URL") || !slices.Contains(vars, "EVENTS_SECRET_FROM") {
		t.Error("the events function tells outcomes: EVENTS_URL and EVENTS_SECRET_FROM must be set")
	}
	checkNoPlainSecrets(t, "functions/events/serverless.yml", vars)
	cos := lookup(t, in, "events").Content[0]
	if lookup(t, cos, "cos", "parameters", "events").Value != "cos:ObjectCreated:*" || lookup(t, cos, "cos", "parameters", "filter", "prefix").Value != "uploads/" {
		t.Error("the COS trigger must fire on cos:ObjectCreated:* under the upload prefix")
	}
}
