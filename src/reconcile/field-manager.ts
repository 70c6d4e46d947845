/** The field manager of every write the reconciler makes: managedFields show `epp-webhook`, and admission sees it in the request's options. */
export const FIELD_MANAGER = 'epp-webhook';
