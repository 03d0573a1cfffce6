package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

type common struct {
	kubeconfig string
	namespace  string
	prefix     string
	clients    int
	count      int
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig of the identity to send requests as")
	fs.StringVar(&c.namespace, "namespace", "bench", "namespace of the objects")
	fs.StringVar(&c.prefix, "prefix", "bench", "object names are <prefix>-<i>")
	fs.IntVar(&c.clients, "clients", 1, "parallel clients, each with its own connection")
	fs.IntVar(&c.count, "count", 100, "number of requests or objects")
}

func configMap(namespace, name string, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Data:       map[string]string{"app": "bench", "value": name},
	}
}

// runRequests times one kind of request: create, update (merge patch of data), delete, or delete-namespace.
func runRequests(ctx context.Context, args []string) (any, error) {
	fs := flag.NewFlagSet("requests", flag.ExitOnError)
	var c common
	c.register(fs)
	op := fs.String("op", "create", "create | update | delete | delete-namespace")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	work := map[string]func(context.Context, any, int) error{
		"create": func(ctx context.Context, h any, i int) error {
			_, err := h.(*kubernetes.Clientset).CoreV1().ConfigMaps(c.namespace).Create(ctx, configMap(c.namespace, fmt.Sprintf("%s-%d", c.prefix, i), nil), metav1.CreateOptions{})
			return err
		},
		"update": func(ctx context.Context, h any, i int) error {
			patch := []byte(`{"data":{"value":"updated-` + strconv.Itoa(i) + `"}}`)
			_, err := h.(*kubernetes.Clientset).CoreV1().ConfigMaps(c.namespace).Patch(ctx, fmt.Sprintf("%s-%d", c.prefix, i), types.MergePatchType, patch, metav1.PatchOptions{})
			return err
		},
		"delete": func(ctx context.Context, h any, i int) error {
			return h.(*kubernetes.Clientset).CoreV1().ConfigMaps(c.namespace).Delete(ctx, fmt.Sprintf("%s-%d", c.prefix, i), metav1.DeleteOptions{})
		},
		"delete-namespace": func(ctx context.Context, h any, i int) error {
			return h.(*kubernetes.Clientset).CoreV1().Namespaces().Delete(ctx, fmt.Sprintf("%s-%d", c.prefix, i), metav1.DeleteOptions{})
		},
	}[*op]
	if work == nil {
		return nil, fmt.Errorf("unknown --op %q", *op)
	}
	return parallel(ctx, *op, c.clients, c.count, typedClient(c.kubeconfig), work)
}

// createIgnoringExisting creates and treats AlreadyExists as done, so a fixture step can be re-run.
func createIgnoringExisting(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// runPopulate creates `count` ConfigMaps or Secrets in parallel (fixtures: untimed in the report, but the rate is
// printed so the generator's capacity shows).
func runPopulate(ctx context.Context, args []string) (any, error) {
	fs := flag.NewFlagSet("populate", flag.ExitOnError)
	var c common
	c.register(fs)
	kind := fs.String("kind", "configmap", "configmap | secret")
	maxTime := fs.Duration("max-time", 0, "stop creating after this long (0: no limit); the result counts what was created")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	labels := map[string]string{"bench": c.prefix}
	if *maxTime > 0 {
		bounded, cancel := context.WithTimeout(ctx, *maxTime)
		defer cancel()
		res, err := populate(bounded, c, *kind, labels)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = nil
		}
		return res, err
	}
	return populate(ctx, c, *kind, labels)
}

func populate(ctx context.Context, c common, kind string, labels map[string]string) (Result, error) {
	return parallel(ctx, "populate-"+kind, c.clients, c.count, typedClient(c.kubeconfig), func(ctx context.Context, h any, i int) error {
		cs := h.(*kubernetes.Clientset)
		name := fmt.Sprintf("%s-%d", c.prefix, i)
		var err error
		if kind == "secret" {
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.namespace, Labels: labels}, StringData: map[string]string{"value": name}}
			_, err = cs.CoreV1().Secrets(c.namespace).Create(ctx, secret, metav1.CreateOptions{})
		} else {
			_, err = cs.CoreV1().ConfigMaps(c.namespace).Create(ctx, configMap(c.namespace, name, labels), metav1.CreateOptions{})
		}
		return createIgnoringExisting(err)
	})
}

// runOwners creates `count` owner ConfigMaps <prefix>-<i>, each with `dependents` ConfigMaps whose ownerReference
// names it (the cascade a delete of the owner judges).
func runOwners(ctx context.Context, args []string) (any, error) {
	fs := flag.NewFlagSet("owners", flag.ExitOnError)
	var c common
	c.register(fs)
	dependents := fs.Int("dependents", 100, "dependents per owner")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	h, err := typedClient(c.kubeconfig)()
	if err != nil {
		return nil, err
	}
	cms := h.(*kubernetes.Clientset).CoreV1().ConfigMaps(c.namespace)
	owners := make([]*corev1.ConfigMap, c.count)
	for i := range owners {
		owner, err := cms.Create(ctx, configMap(c.namespace, fmt.Sprintf("%s-%d", c.prefix, i), map[string]string{"bench-role": "owner"}), metav1.CreateOptions{})
		if err != nil {
			return nil, fmt.Errorf("create owner %d: %w", i, err)
		}
		owners[i] = owner
	}
	total := c.count * *dependents
	return parallel(ctx, "owners", c.clients, total, typedClient(c.kubeconfig), func(ctx context.Context, h any, k int) error {
		owner := owners[k / *dependents]
		dep := configMap(c.namespace, fmt.Sprintf("%s-d%d", owner.Name, k%*dependents), map[string]string{"bench-role": "dependent"})
		dep.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}}
		_, err := h.(*kubernetes.Clientset).CoreV1().ConfigMaps(c.namespace).Create(ctx, dep, metav1.CreateOptions{})
		return createIgnoringExisting(err)
	})
}

// runNamespaces creates `count` namespaces <prefix>-<i>, each holding `objects` ConfigMaps.
func runNamespaces(ctx context.Context, args []string) (any, error) {
	fs := flag.NewFlagSet("namespaces", flag.ExitOnError)
	var c common
	c.register(fs)
	objects := fs.Int("objects", 1000, "ConfigMaps per namespace")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	h, err := typedClient(c.kubeconfig)()
	if err != nil {
		return nil, err
	}
	for i := 0; i < c.count; i++ {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", c.prefix, i), Labels: map[string]string{"bench": "namespace"}}}
		if _, err := h.(*kubernetes.Clientset).CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); createIgnoringExisting(err) != nil {
			return nil, fmt.Errorf("create namespace %d: %w", i, err)
		}
	}
	// The namespace's default ServiceAccount is not needed; ConfigMaps can be created at once.
	time.Sleep(100 * time.Millisecond)
	return parallel(ctx, "namespace-objects", c.clients, c.count**objects, typedClient(c.kubeconfig), func(ctx context.Context, h any, k int) error {
		ns := fmt.Sprintf("%s-%d", c.prefix, k / *objects)
		_, err := h.(*kubernetes.Clientset).CoreV1().ConfigMaps(ns).Create(ctx, configMap(ns, fmt.Sprintf("cm-%d", k%*objects), nil), metav1.CreateOptions{})
		return createIgnoringExisting(err)
	})
}
