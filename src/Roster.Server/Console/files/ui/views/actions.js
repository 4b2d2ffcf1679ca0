import { request, path } from '../api.js';
import { h, replace } from '../dom.js';
import { takesTraffic } from '../states.js';

/**
 * The operator's actions on one instance: drain / undrain, disable / enable, weight override, deregister. Each is
 * proposed first, with its impact (how many instances would still take traffic), and needs a confirmation; an
 * action that would leave none taking traffic is refused unless the operator overrides it. The API's answer is shown.
 */
export function actionPanel({ namespace, service, instances }) {
  const element = h('section', { id: 'action-panel', class: 'card action-panel', hidden: true, 'aria-live': 'polite' });

  const propose = (action, instance) => {
    const all = [...instances()];
    const takingNow = all.filter(takesTraffic);
    const weightInput = h('input', { type: 'number', id: 'weight-value', min: 0, step: 1, placeholder: 'registered weight',
      value: instance.weightOverride ?? '', 'aria-label': 'Weight override (empty clears it)' });
    const afterwards = () => {
      const weight = weightInput.value === '' ? null : Number(weightInput.value);
      const changed = { ...instance };
      if (action === 'drain') changed.drained = true;
      if (action === 'disable') changed.disabled = true;
      if (action === 'undrain') changed.drained = false;
      if (action === 'enable') changed.disabled = false;
      if (action === 'weight') changed.effectiveWeight = changed.drained || changed.disabled ? 0 : (weight ?? instance.weight);
      const others = takingNow.filter(i => i.id !== instance.id).length;
      return action === 'deregister' ? others : others + (takesTraffic(changed) ? 1 : 0);
    };

    const impact = h('p', { id: 'action-impact' });
    const override = h('input', { type: 'checkbox', id: 'action-override' });
    const overrideLabel = h('label', { id: 'action-override-label', hidden: true }, override, ' Do it anyway: I know no instance will take traffic');
    const confirm = h('button', { type: 'button', id: 'action-confirm', class: 'primary' }, 'Confirm');
    const cancel = h('button', { type: 'button', id: 'action-cancel' }, 'Cancel');
    const answer = h('div', { id: 'action-answer', role: 'status' });

    const assess = () => {
      const remaining = afterwards();
      const refused = ['drain', 'disable', 'weight', 'deregister'].includes(action) && remaining === 0;
      impact.textContent = `Afterwards ${remaining} of ${all.length - (action === 'deregister' ? 1 : 0)} instances of ${service} will take traffic (now ${takingNow.length}).`;
      impact.className = refused ? 'error' : '';
      if (refused) impact.textContent += ' No instance would be left to call: consumers would have nothing to send requests to.';
      overrideLabel.hidden = !refused;
      confirm.disabled = refused && !override.checked;
    };
    weightInput.addEventListener('input', assess);
    override.addEventListener('change', assess);

    cancel.addEventListener('click', () => { element.hidden = true; });
    confirm.addEventListener('click', async () => {
      confirm.disabled = true;
      const route = `/namespaces/${path(namespace)}/services/${path(service)}/instances/${path(instance.id)}`;
      try {
        if (action === 'deregister') {
          await request('DELETE', `${route}?incarnation=${instance.incarnation}`);
          replace(answer, h('p', { class: 'ok' }, `${instance.id} deregistered.`));
        } else {
          const body = action === 'drain' ? { drained: true } : action === 'undrain' ? { drained: false }
            : action === 'disable' ? { disabled: true } : action === 'enable' ? { disabled: false }
            : { weight: weightInput.value === '' ? null : Number(weightInput.value) };
          const updated = await request('PATCH', route, body);
          replace(answer, h('p', { class: 'ok' }, `Done at revision ${updated.revision}: ${instance.id} is now `,
            updated.disabled ? 'disabled' : updated.drained ? 'drained' : `taking traffic at weight ${updated.effectiveWeight}`, '.'));
        }
        confirm.hidden = true;
        cancel.textContent = 'Close';
      } catch (error) {
        replace(answer, h('p', { class: 'error', id: 'action-error' }, error.status ? `${error.status}: ${error.message}` : error.message));
        confirm.disabled = false;
      }
    });

    const verb = { drain: 'Drain', undrain: 'Undrain', disable: 'Disable', enable: 'Enable', weight: 'Set the weight of', deregister: 'Deregister' }[action];
    replace(element,
      h('h2', null, `${verb} `, h('span', { class: 'mono' }, instance.id), '?'),
      action === 'weight' && h('p', null, h('label', null, 'Weight override (empty clears it) ', weightInput)),
      impact, overrideLabel,
      h('p', null, confirm, ' ', cancel),
      answer);
    element.hidden = false;
    assess();
    element.scrollIntoView({ block: 'nearest' });
  };

  return { element, propose };
}
