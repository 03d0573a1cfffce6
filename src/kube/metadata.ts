// Metadata-only reads, as the garbage collector's graph builder makes them: the API server answers a LIST with a
// PartialObjectMetadataList and a WATCH with PartialObjectMetadata events when asked for them in the Accept header,
// so Suture can know every object's uid, owners, labels and finalizers without receiving its spec or status.
// client-node's Watch takes its headers from the KubeConfig, so the watch here is one given a KubeConfig whose
// authentication step also sets the Accept header.
import { Watch, type KubeConfig } from '@kubernetes/client-node';

/** Accept header of a metadata-only LIST (or GET: the API server then answers PartialObjectMetadata). */
export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
/** Accept header of a metadata-only WATCH or GET. */
export const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

type Authenticating = Pick<KubeConfig, 'getCurrentCluster' | 'applySecurityAuthentication'>;

/** A Watch whose requests ask for PartialObjectMetadata events. */
export function metadataWatch(kc: KubeConfig): Watch {
  const config: Authenticating = {
    getCurrentCluster: () => kc.getCurrentCluster(),
    applySecurityAuthentication: async (context) => {
      await kc.applySecurityAuthentication(context);
      context.setHeaderParam('Accept', METADATA_ACCEPT);
    },
  };
  return new Watch(config as KubeConfig);
}
